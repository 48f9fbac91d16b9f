//! The deepseek2 model: hyperparameters from metadata, weight handles, and the op list of a step.

pub mod cache_type;
pub mod config;
pub mod embedded;
pub mod graph;
pub mod step;
pub mod weights;

pub use cache_type::{CacheShape, CacheType, Precision};
pub use config::{Config, Gating, KvLayout, Yarn};
pub use graph::{AttnForm, Graph, Place, StepSpec};
pub use weights::{WeightId, Weights};

use std::path::Path;

use crate::error::Result;
use crate::gguf::GgufFile;

/// An opened model: the file (memory-mapped), its config and its weight handles.
pub struct Model {
    pub file: GgufFile,
    pub config: Config,
    pub weights: Weights,
}

impl Model {
    pub fn open(path: impl AsRef<Path>) -> Result<Model> {
        Model::from_file(GgufFile::open(path)?)
    }

    pub fn from_file(file: GgufFile) -> Result<Model> {
        let config = Config::from_gguf(&file)?;
        let weights = Weights::load(&file, &config)?;
        Ok(Model {
            file,
            config,
            weights,
        })
    }

    /// The stored (GGUF block) bytes of a weight.
    pub fn weight_bytes(&self, id: WeightId) -> &[u8] {
        self.weights.bytes(&self.file, id)
    }

    /// The op list of a step of shape `spec` (its tokens at slot 0 from position 0).
    pub fn graph(&self, spec: StepSpec) -> Graph {
        graph::build(&self.config, &self.weights, spec)
    }

    /// The op list of a step of shape `spec` whose tokens sit at `places`.
    pub fn graph_at(&self, spec: StepSpec, places: Vec<Place>) -> Graph {
        let mut g = self.graph(spec);
        g.places = places;
        g
    }
}
