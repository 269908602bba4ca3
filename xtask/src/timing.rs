//! Clocks for the experiments that measure time.
//!
//! On a machine shared with other work the wall clock measures the neighbours as well: a
//! call that waits for the processor counts that wait. The processor time of the process
//! (all its threads, user and system) counts only the work done, so ratios of processor
//! times (backward over forward, f32 over f64) stay fair under load. [`cpu_seconds`] reads it
//! with `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` (nanosecond resolution) on Unix; where
//! that is not available it returns `None` and the experiments fall back to the wall clock.

use std::time::Instant;

/// Processor seconds used by this process so far (all threads), or `None` where the
/// platform has no process clock.
pub fn cpu_seconds() -> Option<f64> {
    process_clock()
}

#[cfg(unix)]
fn process_clock() -> Option<f64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime writes it and nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

#[cfg(not(unix))]
fn process_clock() -> Option<f64> {
    None
}

/// A stopwatch on the processor clock where there is one, on the wall clock otherwise.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    wall: Instant,
    cpu: Option<f64>,
}

impl Stopwatch {
    /// Starts both clocks.
    pub fn start() -> Self {
        Stopwatch { wall: Instant::now(), cpu: cpu_seconds() }
    }

    /// Wall seconds since the start.
    pub fn wall(&self) -> f64 {
        self.wall.elapsed().as_secs_f64()
    }

    /// Processor seconds since the start (the wall seconds where there is no process clock).
    pub fn cpu(&self) -> f64 {
        match (self.cpu, cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => self.wall(),
        }
    }
}

/// The name of the clock [`Stopwatch::cpu`] reads, for the experiments' configuration.
pub fn cpu_clock_name() -> &'static str {
    if cpu_seconds().is_some() { "process processor time (all threads)" } else { "wall clock (no process clock here)" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processor_time_counts_work_and_not_sleep() {
        if cfg!(unix) {
            assert!(cpu_seconds().is_some(), "Unix has a process clock");
        } else {
            return;
        }
        let watch = Stopwatch::start();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let slept = watch.cpu();
        // sleeping costs (almost) no processor time, whatever else the test binary runs...
        // except other tests' threads in the same process: bound it by the wall time
        assert!(slept <= watch.wall() * std::thread::available_parallelism().map_or(1, |p| p.get()) as f64 + 0.01);
        let busy = Stopwatch::start();
        let mut x = 1.0f64;
        while busy.wall() < 0.2 {
            for _ in 0..10_000 {
                x = std::hint::black_box(x * 1.000_000_1 + 1e-9);
            }
        }
        assert!(busy.cpu() > 0.0, "a busy loop uses processor time");
        assert!(x.is_finite());
    }
}
