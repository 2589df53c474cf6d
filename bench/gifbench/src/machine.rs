//! The machine: CPU pinning, the fd limit, per-process CPU time and RSS from /proc, and the facts
//! `RESULTS.md` prints about where a run happened.

use std::process::Command;

use anyhow::{bail, Context, Result};

/// Pins the calling thread (and so every thread it starts later) to `core`.
///
/// Called first thing in `main`, before the runtime starts its threads: the generator then lives on its
/// own core and never competes with the server pinned to the other one.
pub fn pin_self(core: usize) -> Result<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is its empty set, and CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            bail!("sched_setaffinity to core {core}: {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Raises this process's soft fd limit to its hard limit and returns the new limit. Child processes
/// (the servers) inherit it.
pub fn raise_fd_limit() -> Result<u64> {
    // SAFETY: getrlimit/setrlimit read and write one plain struct we own.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            bail!("getrlimit: {}", std::io::Error::last_os_error());
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            bail!("setrlimit: {}", std::io::Error::last_os_error());
        }
        Ok(lim.rlim_cur)
    }
}

/// Clock ticks per second of /proc's utime/stime.
fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// CPU seconds (user + system) that process `pid` has used so far, from /proc/<pid>/stat.
pub fn cpu_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("pid {pid} gone"))?;
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("odd /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' come field 3 (state) onwards: utime is field 14, stime field 15 → indexes 11 and 12.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) / ticks_per_sec())
}

/// Resident set size of process `pid` in bytes, from /proc/<pid>/status.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("pid {pid} gone"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    let kb: u64 = line.split_whitespace().nth(1).context("odd VmRSS")?.parse()?;
    Ok(kb * 1024)
}

/// Seconds that the threads of process `pid` have spent runnable but waiting for a CPU (the second
/// field of each /proc/<pid>/task/*/schedstat), summed: how much other work on the machine delayed it.
pub fn run_delay_secs(pid: u32) -> Result<f64> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).with_context(|| format!("pid {pid} gone"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between listing and reading: skip it.
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        total += text.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(total as f64 / 1e9)
}

/// A CPU-time meter for one process over an interval: `start`, then `percent` at the end.
pub struct CpuMeter {
    pid: u32,
    cpu0: f64,
    wait0: f64,
    t0: std::time::Instant,
}

impl CpuMeter {
    /// Starts measuring `pid` now.
    pub fn start(pid: u32) -> Result<Self> {
        Ok(Self { pid, cpu0: cpu_secs(pid)?, wait0: run_delay_secs(pid)?, t0: std::time::Instant::now() })
    }

    /// Percent of one core used since `start` (100 = one core busy the whole time).
    pub fn percent(&self) -> Result<f64> {
        let used = cpu_secs(self.pid)? - self.cpu0;
        Ok(100.0 * used / self.t0.elapsed().as_secs_f64().max(1e-3))
    }

    /// Percent of the time since `start` that the process's threads waited for a CPU (summed over
    /// threads): near 0 on a quiet machine; large when other work took the core.
    pub fn wait_percent(&self) -> Result<f64> {
        let waited = run_delay_secs(self.pid)? - self.wait0;
        Ok(100.0 * waited / self.t0.elapsed().as_secs_f64().max(1e-3))
    }

    /// CPU seconds used since `start`.
    pub fn secs(&self) -> Result<f64> {
        Ok(cpu_secs(self.pid)? - self.cpu0)
    }
}

/// One line of a command's output, or "?" when it cannot run.
fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().to_owned())
        .unwrap_or_else(|| "?".to_owned())
}

/// The machine facts printed at the top of every report.
pub fn describe() -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "?".to_owned());
    vec![
        ("nproc --all".into(), command_line("nproc", &["--all"])),
        ("CPU".into(), cpu),
        ("kernel".into(), command_line("uname", &["-sr"])),
        ("rustc".into(), command_line("rustc", &["--version"])),
        ("node".into(), command_line("node", &["--version"])),
        // Other work on the machine skews every number: say how busy it was when the run started.
        ("load average (1/5/15 min)".into(), {
            let l = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
            l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        }),
        ("fd limit (soft)".into(), {
            // SAFETY: as in raise_fd_limit.
            let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
            lim.rlim_cur.to_string()
        }),
    ]
}
