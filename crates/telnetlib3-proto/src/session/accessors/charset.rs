//! CHARSET: requests and getters on [`Session`].

use crate::options::charset::{send_request, CharsetError, Offer};
use crate::Session;

impl Session {
    /// The character set agreed with CHARSET, either way, if any.
    #[must_use]
    pub fn charset(&self) -> Option<&str> {
        self.core.families.charset.charset.as_deref()
    }

    /// Whether our CHARSET REQUEST awaits its answer (telnetlib3's
    /// `pending_option[SB + CHARSET]`).
    #[must_use]
    pub fn charset_pending(&self) -> bool {
        self.core.families.charset.awaiting_answer()
    }

    /// Whether the peer rejected our last CHARSET REQUEST (telnetlib3 shows
    /// `failed-reply:SB CHARSET`).
    #[must_use]
    pub fn charset_rejected(&self) -> bool {
        self.core.families.charset.rejected
    }

    /// The names of the peer's last CHARSET REQUEST, in its order (names longer than
    /// [`MAX_NAME_LEN`](crate::options::charset::MAX_NAME_LEN) left out, at most
    /// [`MAX_STORED_OFFER`](crate::options::charset::MAX_STORED_OFFER)).
    #[must_use]
    pub fn peer_charset_offer(&self) -> &[String] {
        &self.core.families.charset.peer_offer
    }

    /// Send a CHARSET REQUEST with the configured offer.
    ///
    /// # Errors
    ///
    /// When we do not perform CHARSET, a REQUEST is already outstanding, or the configured
    /// offer is empty or invalid; nothing is sent then.
    pub fn request_charset(&mut self) -> Result<(), CharsetError> {
        let core = &mut self.core;
        let state = &mut core.families.charset;
        send_request(
            state,
            &core.config.charset,
            &mut core.link,
            Offer::Requested,
        )
    }
}
