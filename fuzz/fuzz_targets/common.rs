//! What the session targets share (included with `#[path]`; not a target itself).

use telnetlib3_proto::{Policy, Role, ServerPlan, Session, SessionConfig};

/// A session under `policy` with terminal types, an environment and a location to
/// answer with; a server has started telnetlib3's opening negotiation.
pub fn fuzz_session(role: Role, policy: Policy) -> Session {
    let mut config = SessionConfig::with_policy(policy);
    config.ttype.types = vec!["xterm-256color".into(), "xterm".into()];
    config.environ.values = vec![(b"TERM".to_vec(), b"xterm".to_vec())];
    config.sndloc.location = "lab".into();
    let mut session = Session::new(role, config);
    if role == Role::Server {
        session.start_server_negotiation(ServerPlan::default());
    }
    session
}
