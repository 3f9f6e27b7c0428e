set -x
H=/work/hyperinr-mn; M=../shared/data/modelnet40; R=runs/mn10-v2
cd /work/main; rm -rf $R
$H train --dataset modelnet10 --data $M --run $R --epochs 120 --batch 32 --queries 1024 --backend flex --hyper-activation silu --linear-path --quiet
$H train --dataset modelnet10 --data $M --run $R --epochs 150 --batch 32 --backend flex --resume --lr-hyper 3e-4 --lr-latent 5e-3 --quiet
for s in val test train; do $H fit --run $R --data $M --split $s --backend flex --quiet; done
$H classifier --run $R --train-latents train --input-noise 0.2 --backend flex
$H export --run $R --latents test --out $R/model.hinr
$H eval --model $R/model.hinr --dataset modelnet10 --data $M --split test --chamfer-limit 50 --json
echo done
