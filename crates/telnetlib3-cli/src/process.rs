//! The programs the server runs for its connections (`--pty-exec`, `--shell PROGRAM`):
//! each leads a process group of its own, is hung up when its client goes, killed if it
//! ignores that, and always reaped, even when the connection's task is dropped.

use std::io;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustix::process::{kill_process_group, test_kill_process_group, Pid, Signal};
use tokio::process::Child;
use tokio::sync::Notify;
use tracing::debug;

/// How long a hung-up program has to exit after SIGHUP before it is killed.
pub const HANGUP_GRACE: Duration = Duration::from_secs(2);

/// After the program exited, its output is still forwarded until it reports end of
/// file or is quiet this long (a background process may hold it open).
pub(crate) const DRAIN_IDLE: Duration = Duration::from_millis(200);

/// The running program: its process, which leads its own session and process group.
///
/// If the connection's task is dropped first (the server aborts it at the idle
/// `--timeout` and at shutdown), `Drop` hangs the program's group up and hands the
/// process to a task of its own that SIGKILLs the group after [`HANGUP_GRACE`] and reaps
/// it, as a client hang-up would ([`wait_reaped`] waits for those tasks). Should that
/// task be dropped too (the runtime is going away), the group gets SIGKILL at once, and
/// `kill_on_drop` kills the leader, which tokio then reaps.
pub(crate) struct Running {
    /// `None` once `Drop` handed the process to a reaper task.
    child: Option<Child>,
    /// The child's pid, which is also its process group's id.
    pid: Option<Pid>,
    /// Whether this is a reaper task's: dropped, it allows no more grace.
    reaper: bool,
}

/// Reaper tasks still running (see [`Running`]), and a wake-up when one ends.
static REAPERS: AtomicUsize = AtomicUsize::new(0);
static REAPER_DONE: Notify = Notify::const_new();

/// Counts a reaper task while it lives.
struct ReaperCount;

impl ReaperCount {
    fn new() -> Self {
        REAPERS.fetch_add(1, Ordering::AcqRel);
        Self
    }
}

impl Drop for ReaperCount {
    fn drop(&mut self) {
        REAPERS.fetch_sub(1, Ordering::AcqRel);
        REAPER_DONE.notify_waiters();
    }
}

/// Wait until the programs of connections that were aborted (idle `--timeout`,
/// [`Server::close`](telnetlib3::Server::close)) have been hung up, killed if need be,
/// and reaped: at most about [`HANGUP_GRACE`] after the abort. Call it before the runtime
/// goes, which would cut the grace short.
pub async fn wait_reaped() {
    loop {
        let done = REAPER_DONE.notified();
        tokio::pin!(done);
        done.as_mut().enable();
        if REAPERS.load(Ordering::Acquire) == 0 {
            return;
        }
        done.await;
    }
}

impl Running {
    /// Supervise `child`, the leader of the process group `pid`.
    pub(crate) fn new(child: Child, pid: Option<Pid>) -> Self {
        Self {
            child: Some(child),
            pid,
            reaper: false,
        }
    }

    /// The program's process group (its pid), to signal.
    pub(crate) fn pid(&self) -> Option<Pid> {
        self.pid
    }

    /// The program's pid, for the log.
    pub(crate) fn id(&self) -> u32 {
        self.child.as_ref().and_then(Child::id).unwrap_or_default()
    }

    /// Whether the program still runs (not yet reaped).
    pub(crate) fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The program's exit, reaping it (never, once handed over).
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        match self.child.as_mut() {
            Some(child) => child.wait().await,
            None => std::future::pending().await,
        }
    }

    /// Hang up the program's process group ([`hang_up_group`]), if the program is not
    /// reaped yet: until then its pid, and the group it leads, cannot belong to anyone
    /// else.
    pub(crate) fn hang_up(&mut self) {
        if let Some(pid) = self.pid.filter(|_| self.running()) {
            hang_up_group(pid);
        }
    }

    /// SIGKILL to the program's group (while it is not reaped) and its leader.
    pub(crate) fn kill(&mut self) {
        if let Some(pid) = self.pid.filter(|_| self.running()) {
            let _ = kill_process_group(pid, Signal::KILL);
        }
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }

    /// Reap the program. If it still runs: right away when the client hung up, else
    /// after a short grace (its output ended, so it is on its way out), hang it up, then
    /// SIGKILL its group after [`HANGUP_GRACE`].
    /// Then the jobs it left behind in its group go too ([`Running::end_group`]).
    pub(crate) async fn finish(&mut self, hung_up: bool) -> Option<ExitStatus> {
        let status = self.finish_leader(hung_up).await;
        self.end_group().await;
        status
    }

    async fn finish_leader(&mut self, hung_up: bool) -> Option<ExitStatus> {
        if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
            return Some(status);
        }
        if !hung_up {
            if let Ok(status) = tokio::time::timeout(DRAIN_IDLE, self.wait()).await {
                return status.ok();
            }
        }
        self.hang_up();
        self.reap_hung_up().await
    }

    /// Once the leader is reaped: the jobs it left running in its group (`cmd &`) are
    /// hung up, and killed if still there after [`HANGUP_GRACE`], so that no process of
    /// a connection outlives it. The group's id still names them: Linux gives no new
    /// process a pid that is the id of a process group with members.
    async fn end_group(&self) {
        let Some(pid) = self.pid else {
            return;
        };
        if test_kill_process_group(pid).is_err() {
            return;
        }
        debug!("the program left jobs in its group; hanging them up");
        hang_up_group(pid);
        let deadline = tokio::time::Instant::now() + HANGUP_GRACE;
        while test_kill_process_group(pid).is_ok() {
            if tokio::time::Instant::now() >= deadline {
                debug!("the program's jobs ignored SIGHUP; killing them");
                let _ = kill_process_group(pid, Signal::KILL);
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Once hung up: [`HANGUP_GRACE`] to exit, then SIGKILL to the group; reaps.
    async fn reap_hung_up(&mut self) -> Option<ExitStatus> {
        if let Ok(status) = tokio::time::timeout(HANGUP_GRACE, self.wait()).await {
            return status.ok();
        }
        debug!("program ignored SIGHUP; killing it");
        self.kill();
        self.wait().await.ok()
    }
}

/// SIGHUP to process group `pid`, then SIGCONT: a stopped job acts on SIGHUP only once
/// continued.
fn hang_up_group(pid: Pid) {
    let _ = kill_process_group(pid, Signal::HUP);
    let _ = kill_process_group(pid, Signal::CONT);
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.running() {
            return;
        }
        if self.reaper {
            // The reaper task itself is dropped: the runtime is going away.
            self.kill();
            return;
        }
        self.hang_up();
        let reaper = Self {
            child: self.child.take(),
            pid: self.pid,
            reaper: true,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let count = ReaperCount::new();
                runtime.spawn(async move {
                    let _count = count;
                    let mut reaper = reaper;
                    reaper.reap_hung_up().await;
                    reaper.end_group().await;
                });
            }
            // No runtime to wait on: `reaper` is dropped here, and kills.
            Err(_) => drop(reaper),
        }
    }
}
