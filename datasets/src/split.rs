//! Which part of a dataset: the one split enum of the command line, the loaders and the
//! stored latents (the model file's tag is [`hyperinr_shared::Split`], see [`Split::to_format`]).

use serde::{Deserialize, Serialize};

/// Which part of a dataset. Validation is always cut out of the official training files
/// (FashionMNIST: [`crate::fashion::validation_count`]; point clouds: per class,
/// [`crate::clouds::validation_count_per_class`]), so `Train` means the training files
/// minus that hold-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Split {
    /// The training files minus their validation hold-out.
    Train,
    /// The hold-out of the training files, for tuning.
    Val,
    /// The official test files.
    Test,
}

impl Split {
    /// The model file's split tag.
    pub fn to_format(self) -> hyperinr_shared::Split {
        match self {
            Split::Train => hyperinr_shared::Split::Train,
            Split::Val => hyperinr_shared::Split::Validation,
            Split::Test => hyperinr_shared::Split::Test,
        }
    }

    /// The split of a model file's tag (the inverse of [`Split::to_format`]).
    pub fn from_format(tag: hyperinr_shared::Split) -> Self {
        match tag {
            hyperinr_shared::Split::Train => Split::Train,
            hyperinr_shared::Split::Validation => Split::Val,
            hyperinr_shared::Split::Test => Split::Test,
        }
    }

    /// The official files a split is read from: `train` (train and validation) or `test`.
    pub fn source(self) -> &'static str {
        match self {
            Split::Train | Split::Val => "train",
            Split::Test => "test",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_tag_converts_both_ways() {
        for split in [Split::Train, Split::Val, Split::Test] {
            assert_eq!(Split::from_format(split.to_format()), split);
        }
    }
}
