//! What recording a step costs the CPU, phase by phase. The bar for a decode step is CPU time
//! (the thread's own clock where the platform has one), because wall time also counts the moments
//! the recording thread is not running: on a CPU adapter such as lavapipe, the driver's threads
//! start executing the step as soon as it is submitted and take the cores from the thread that
//! is still returning from `submit`. Both are kept; `bench` prints both.

use web_time::Instant;

/// Seconds of CPU the calling thread has used, where the platform says (unix); `None` elsewhere.
pub fn thread_cpu_seconds() -> Option<f64> {
    #[cfg(all(unix, feature = "native"))]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through a valid pointer.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return Some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9);
        }
    }
    None
}

/// The phases of recording a step, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Checks, node buffers, writing the token ids and the RoPE table.
    Prepare,
    /// Walking the lowered op list into the recorder (parameters, buffers, workgroup counts).
    Ops,
    /// Turning the recorded dispatches into a wgpu command buffer (and the parameter write).
    Encode,
    /// `queue.submit`.
    Submit,
}

/// Seconds one step's recording took: in total (wall and CPU) and per phase (CPU where the
/// platform has a thread clock, else wall).
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordTimes {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub prepare_s: f64,
    pub ops_s: f64,
    pub encode_s: f64,
    pub submit_s: f64,
    /// The step submitted the previous step's recording again (`gpu::executor`'s replay): no
    /// encoder ran, the ops phase is empty.
    pub replayed: bool,
}

impl RecordTimes {
    /// The phase's seconds.
    pub fn phase(&self, p: Phase) -> f64 {
        match p {
            Phase::Prepare => self.prepare_s,
            Phase::Ops => self.ops_s,
            Phase::Encode => self.encode_s,
            Phase::Submit => self.submit_s,
        }
    }

    fn phase_mut(&mut self, p: Phase) -> &mut f64 {
        match p {
            Phase::Prepare => &mut self.prepare_s,
            Phase::Ops => &mut self.ops_s,
            Phase::Encode => &mut self.encode_s,
            Phase::Submit => &mut self.submit_s,
        }
    }
}

/// Times a step's recording: `lap` at the end of each phase, `finish` after the submit.
pub struct StepClock {
    wall0: Instant,
    cpu0: Option<f64>,
    /// The clock reading at the end of the last phase (CPU where there is one, else wall).
    last: f64,
    times: RecordTimes,
}

impl StepClock {
    pub fn start() -> StepClock {
        let cpu0 = thread_cpu_seconds();
        StepClock {
            wall0: Instant::now(),
            cpu0,
            last: cpu0.unwrap_or(0.0),
            times: RecordTimes::default(),
        }
    }

    /// The clock now: thread CPU seconds, or wall seconds since the start.
    fn now(&self) -> f64 {
        match self.cpu0 {
            Some(_) => thread_cpu_seconds().unwrap_or(self.last),
            None => self.wall0.elapsed().as_secs_f64(),
        }
    }

    /// Ends phase `p` (its time adds to what the phase already took this step).
    pub fn lap(&mut self, p: Phase) {
        let now = self.now();
        *self.times.phase_mut(p) += now - self.last;
        self.last = now;
    }

    /// The step's times, its totals taken now.
    pub fn finish(&self) -> RecordTimes {
        let mut t = self.times;
        t.wall_s = self.wall0.elapsed().as_secs_f64();
        t.cpu_s = match self.cpu0 {
            Some(c0) => self.now() - c0,
            None => t.wall_s,
        };
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_add_up_to_the_cpu_total() {
        let mut clock = StepClock::start();
        let mut x = 0u64;
        for p in [Phase::Prepare, Phase::Ops, Phase::Encode, Phase::Submit] {
            for i in 0..200_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
            clock.lap(p);
        }
        std::hint::black_box(x);
        let t = clock.finish();
        let sum = t.prepare_s + t.ops_s + t.encode_s + t.submit_s;
        assert!(t.ops_s > 0.0 && t.submit_s > 0.0, "{t:?}");
        assert!(sum <= t.cpu_s + 1e-9 && t.cpu_s - sum < 1e-3, "{t:?}");
        if thread_cpu_seconds().is_some() {
            // CPU time of one thread never runs ahead of the wall clock by more than a tick.
            assert!(t.cpu_s <= t.wall_s + 1e-3, "{t:?}");
        }
    }
}
