//! Running one step: its dispatches recorded (or the previous step's recording replayed, see
//! `replay`), submitted as one command buffer, and what the caller asked for read back; what
//! recording it cost noted for `bench`.

use std::rc::Rc;

use super::{encode, replay, GpuExecutor, GpuValues, Readback, StepStats, RECORD_LOG};
use crate::cpu::Buf;
use crate::error::{Error, Result};
use crate::gpu::lower::Lowering;
use crate::gpu::recorder::Recorder;
use crate::gpu::routing;
use crate::gpu::step_clock::{Phase, StepClock};
use crate::gpu::step_table::{self, StepTable};
use crate::model::graph::{check_step, DType, Graph, NodeId};

impl GpuExecutor<'_> {
    /// Runs one step as one command buffer, then reads back what `read` asks for (blocking;
    /// native only).
    #[cfg(feature = "native")]
    pub fn run(&mut self, g: &Graph, tokens: &[u32], read: Readback) -> Result<GpuValues> {
        pollster::block_on(self.run_async(g, tokens, read))
    }

    /// Runs one step as one command buffer, then reads back what `read` asks for.
    pub async fn run_async(
        &mut self,
        g: &Graph,
        tokens: &[u32],
        read: Readback,
    ) -> Result<GpuValues> {
        let spec = g.spec;
        check_step(&spec, tokens, &g.places, self.n_ctx, self.n_slots).map_err(Error::Usage)?;
        let n_vocab = self.model.config.n_vocab;
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= n_vocab) {
            return Err(Error::Usage(format!(
                "token id {bad} is outside the vocabulary of {n_vocab}"
            )));
        }
        let mut clock = StepClock::start();
        let dispatches0 = self.pipes.dispatches();
        let bufs = self.node_buffers(g, read);
        self.ctx
            .queue
            .write_buffer(&bufs[g.tokens], 0, bytemuck::cast_slice(tokens));
        let t = spec.n_tokens;
        // cos/sin of this step's positions and its places, in a scratch kept across steps.
        let words = step_table::build(&self.rope, &g.places, self.n_ctx);
        let table = self
            .pipes
            .scratch(&self.ctx, "step table", (words.len() * 4) as u64);
        self.ctx
            .queue
            .write_buffer(&table, 0, bytemuck::cast_slice(&words));
        clock.lap(Phase::Prepare);
        // The last step's recording when this one's would be the same (every decode step but
        // those where absorbed attention's cache split moves), else the encoders run.
        let key = replay::ReplayKey::of(self, g, read);
        let cached = self.replay.take().filter(|(k, _)| Some(*k) == key);
        // check reads every node: run the op list unfused so each one exists on the GPU too.
        let low = if read == Readback::Everything {
            Rc::new(Lowering::none(g))
        } else {
            self.lowering_for(g)
        };
        let replayed = cached.is_some();
        let enc = match cached {
            Some((_, enc)) => {
                self.pipes.count_dispatches(enc.n_dispatches() as u64);
                enc
            }
            None => {
                let io = encode::StepIo {
                    g,
                    low: &low,
                    bufs: &bufs,
                    table: StepTable {
                        buf: &table,
                        places_at: step_table::places_at(t, self.rope.n_dims()),
                        n_tok: t,
                    },
                    grouped: std::cell::Cell::new(None),
                };
                self.encode_step(&io, read)?
            }
        };
        clock.lap(Phase::Ops);
        self.submit(&enc, &mut clock)?;
        let mut stats = self.stats_since(&clock, dispatches0);
        stats.times.replayed = replayed;
        // Encoding and submitting may have replaced a scratch buffer: keyed as of now.
        if let Some(k) = key {
            self.replay = Some((k.at_generation(self.pipes.generation()), enc));
        }
        if read == Readback::Argmax {
            let v = crate::gpu::ops::read_f32_async(&self.ctx, &self.argmax_out, 1).await;
            self.note_step(stats);
            let v = v?;
            self.ctx.take_error("running a step")?;
            let bufs = (0..g.nodes.len()).map(|_| None).collect();
            return Ok(GpuValues {
                bufs,
                argmax: Some(v[0].to_bits()),
            });
        }
        self.note_step(stats);
        let len = |n: NodeId| g.nodes[n].len();
        let wanted: Vec<NodeId> = match read {
            Readback::Everything => (0..g.nodes.len()).filter(|&n| !low.elided[n]).collect(),
            _ => vec![g.logits],
        };
        let mut out: Vec<Option<Buf>> = (0..g.nodes.len()).map(|_| None).collect();
        let srcs: Vec<(&wgpu::Buffer, usize)> =
            wanted.iter().map(|&n| (&bufs[n], len(n))).collect();
        let values = crate::gpu::ops::read_many_async(&self.ctx, &srcs).await?;
        for (n, v) in wanted.into_iter().zip(values) {
            out[n] = Some(match g.nodes[n].dtype {
                DType::F32 => Buf::F32(v),
                DType::I32 => Buf::I32(v.iter().map(|x| x.to_bits() as i32).collect()),
            });
        }
        self.ctx.take_error("running a step")?;
        Ok(GpuValues {
            bufs: out,
            argmax: None,
        })
    }

    /// The dispatches of step `io.g`: its ops as `io.low` lowers them, then for greedy steps the
    /// argmax of the last logits row into `argmax_out`.
    fn encode_step(&self, io: &encode::StepIo, read: Readback) -> Result<Recorder> {
        let mut enc = Recorder::new();
        self.encode_ops(io, &mut enc)?;
        if read != Readback::Argmax {
            return Ok(enc);
        }
        let (g, bufs) = (io.g, io.bufs);
        let n_vocab = self.model.config.n_vocab;
        let last = g.nodes[g.logits].len() - n_vocab;
        // Decode steps have one logits row; only a step with every row needs a copy.
        let row_copy;
        let row = if last == 0 {
            &bufs[g.logits]
        } else {
            row_copy = self
                .pipes
                .scratch(&self.ctx, "last logits", (n_vocab * 4) as u64);
            enc.copy(
                &bufs[g.logits],
                (last * 4) as u64,
                &row_copy,
                0,
                (n_vocab * 4) as u64,
            );
            &row_copy
        };
        routing::encode_argmax(
            &self.ctx,
            &self.pipes,
            &mut enc,
            row,
            &self.argmax_out,
            n_vocab,
        );
        Ok(enc)
    }

    /// Submits a step, profiled when `profile` is set.
    fn submit(&mut self, enc: &Recorder, clock: &mut StepClock) -> Result<()> {
        #[cfg(feature = "native")]
        if self.profile {
            self.last_profile = enc.submit_profiled(&self.ctx, &self.pipes)?;
            return Ok(());
        }
        self.recorded = enc.submit_timed(&self.ctx, &self.pipes, clock);
        Ok(())
    }

    fn note_step(&mut self, stats: StepStats) {
        if self.record_log.len() >= RECORD_LOG {
            self.record_log.remove(0);
        }
        self.record_log.push(stats.times);
        self.last_step = stats;
    }

    fn stats_since(&self, clock: &StepClock, dispatches0: u64) -> StepStats {
        StepStats {
            dispatches: self.pipes.dispatches() - dispatches0,
            times: clock.finish(),
            recorded: self.recorded,
        }
    }
}
