//! Telnet option codes (the byte after WILL, WONT, DO, DONT and SB).

use core::fmt;
use core::hash::{Hash, Hasher};

macro_rules! telnet_options {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal => $name:literal, )*) => {
        /// A Telnet option code, named as in its RFC and in telnetlib3's `telopt` module.
        ///
        /// Every byte value is representable: codes without a name are carried by
        /// [`TelnetOption::Unknown`]. Construct values with [`TelnetOption::from`]
        /// (`u8` -> option), which never produces `Unknown` for a named code; equality and
        /// hashing compare the code, so `Unknown(1) == Echo` holds even if built by hand.
        ///
        /// ```
        /// use telnetlib3_proto::TelnetOption;
        ///
        /// assert_eq!(TelnetOption::from(24), TelnetOption::Ttype);
        /// assert_eq!(TelnetOption::Ttype.code(), 24);
        /// assert_eq!(TelnetOption::Ttype.name(), Some("TTYPE"));
        /// assert_eq!(TelnetOption::from_name("NAWS"), Some(TelnetOption::Naws));
        /// assert_eq!(TelnetOption::from(150).name(), None); // carried as Unknown(150)
        /// ```
        #[derive(Clone, Copy, Debug)]
        #[non_exhaustive]
        pub enum TelnetOption {
            $( $(#[$doc])* $variant, )*
            /// A code with no name in this crate.
            Unknown(u8),
        }

        impl TelnetOption {
            /// The option code on the wire.
            #[must_use]
            pub const fn code(self) -> u8 {
                match self {
                    $( Self::$variant => $code, )*
                    Self::Unknown(code) => code,
                }
            }

            /// The option for a wire code.
            #[must_use]
            pub const fn from_code(code: u8) -> Self {
                match code {
                    $( $code => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }

            /// The RFC / telnetlib3 name (`NEW_ENVIRON`, `TTYPE`, ...), or `None` if unnamed.
            #[must_use]
            pub const fn name(self) -> Option<&'static str> {
                match Self::from_code(self.code()) {
                    $( Self::$variant => Some($name), )*
                    Self::Unknown(_) => None,
                }
            }

            /// The option with this name, compared case-insensitively (`"naws"` -> `NAWS`).
            #[must_use]
            pub fn from_name(name: &str) -> Option<Self> {
                $( if name.eq_ignore_ascii_case($name) { return Some(Self::$variant); } )*
                None
            }
        }
    };
}

telnet_options! {
    /// RFC 856: 8-bit data path.
    Binary = 0 => "BINARY",
    /// RFC 857: remote echo.
    Echo = 1 => "ECHO",
    /// Reconnection (NIC 15391).
    Rcp = 2 => "RCP",
    /// RFC 858: suppress go-ahead.
    Sga = 3 => "SGA",
    /// Approximate message size negotiation.
    Nams = 4 => "NAMS",
    /// RFC 859: option status.
    Status = 5 => "STATUS",
    /// RFC 860: timing mark.
    Tm = 6 => "TM",
    /// RFC 726: remote controlled transmission and echo.
    Rcte = 7 => "RCTE",
    /// Output line width.
    Naol = 8 => "NAOL",
    /// Output page size.
    Naop = 9 => "NAOP",
    /// Output carriage-return disposition.
    Naocrd = 10 => "NAOCRD",
    /// Output horizontal tab stops.
    Naohts = 11 => "NAOHTS",
    /// Output horizontal tab disposition.
    Naohtd = 12 => "NAOHTD",
    /// Output formfeed disposition.
    Naoffd = 13 => "NAOFFD",
    /// Output vertical tab stops.
    Naovts = 14 => "NAOVTS",
    /// Output vertical tab disposition.
    Naovtd = 15 => "NAOVTD",
    /// Output linefeed disposition.
    Naolfd = 16 => "NAOLFD",
    /// Extended ASCII.
    Xascii = 17 => "XASCII",
    /// RFC 727: logout.
    Logout = 18 => "LOGOUT",
    /// Byte macro.
    Bm = 19 => "BM",
    /// Data entry terminal.
    Det = 20 => "DET",
    /// SUPDUP.
    Supdup = 21 => "SUPDUP",
    /// SUPDUP output.
    SupdupOutput = 22 => "SUPDUPOUTPUT",
    /// RFC 779: send location.
    Sndloc = 23 => "SNDLOC",
    /// RFC 1091: terminal type.
    Ttype = 24 => "TTYPE",
    /// RFC 885: end of record.
    Eor = 25 => "EOR",
    /// TACACS user identification.
    Tuid = 26 => "TUID",
    /// Output marking.
    Outmrk = 27 => "OUTMRK",
    /// Terminal location number.
    Ttyloc = 28 => "TTYLOC",
    /// 3270 regime.
    Vt3270Regime = 29 => "VT3270REGIME",
    /// X.3 PAD.
    X3Pad = 30 => "X3PAD",
    /// RFC 1073: negotiate about window size.
    Naws = 31 => "NAWS",
    /// RFC 1079: terminal speed.
    Tspeed = 32 => "TSPEED",
    /// RFC 1372: remote flow control.
    Lflow = 33 => "LFLOW",
    /// RFC 1184: linemode.
    Linemode = 34 => "LINEMODE",
    /// RFC 1096: X display location.
    Xdisploc = 35 => "XDISPLOC",
    /// RFC 1408: environment option (the old one).
    OldEnviron = 36 => "OLD_ENVIRON",
    /// RFC 2941: authentication.
    Authentication = 37 => "AUTHENTICATION",
    /// RFC 2946: data encryption.
    Encrypt = 38 => "ENCRYPT",
    /// RFC 1572: new environment option.
    NewEnviron = 39 => "NEW_ENVIRON",
    /// RFC 2355: TN3270 enhancements.
    Tn3270e = 40 => "TN3270E",
    /// X authentication.
    Xauth = 41 => "XAUTH",
    /// RFC 2066: character set.
    Charset = 42 => "CHARSET",
    /// Remote serial port.
    Rsp = 43 => "RSP",
    /// RFC 2217: COM port control.
    ComPortOption = 44 => "COM_PORT_OPTION",
    /// Suppress local echo.
    SuppressLocalEcho = 45 => "SUPPRESS_LOCAL_ECHO",
    /// Start TLS.
    Tls = 46 => "TLS",
    /// RFC 2840: Kermit.
    Kermit = 47 => "KERMIT",
    /// Send URL.
    SendUrl = 48 => "SEND_URL",
    /// Forward X.
    ForwardX = 49 => "FORWARD_X",
    /// MUD server data protocol.
    Msdp = 69 => "MSDP",
    /// MUD server status protocol.
    Mssp = 70 => "MSSP",
    /// MUD client compression protocol, version 1.
    Mccp1 = 85 => "MCCP_COMPRESS",
    /// MUD client compression protocol, version 2.
    Mccp2 = 86 => "MCCP2_COMPRESS",
    /// MUD client compression protocol, version 3.
    Mccp3 = 87 => "MCCP3_COMPRESS",
    /// MUD sound protocol.
    Msp = 90 => "MSP",
    /// MUD extension protocol.
    Mxp = 91 => "MXP",
    /// Zenith MUD protocol.
    Zmp = 93 => "ZMP",
    /// Aardwolf 102 channel.
    Aardwolf = 102 => "AARDWOLF",
    /// Pragma logon.
    PragmaLogon = 138 => "PRAGMA_LOGON",
    /// SSPI logon.
    SspiLogon = 139 => "SSPI_LOGON",
    /// Pragma heartbeat.
    PragmaHeartbeat = 140 => "PRAGMA_HEARTBEAT",
    /// Achaea telnet client protocol.
    Atcp = 200 => "ATCP",
    /// Generic MUD communication protocol.
    Gmcp = 201 => "GMCP",
    /// RFC 861: extended options list.
    Exopl = 255 => "EXOPL",
}

impl From<u8> for TelnetOption {
    fn from(code: u8) -> Self {
        Self::from_code(code)
    }
}

impl From<TelnetOption> for u8 {
    fn from(option: TelnetOption) -> Self {
        option.code()
    }
}

impl PartialEq for TelnetOption {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
    }
}

impl Eq for TelnetOption {}

impl Hash for TelnetOption {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl PartialOrd for TelnetOption {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TelnetOption {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.code().cmp(&other.code())
    }
}

impl fmt::Display for TelnetOption {
    /// The RFC name, or the decimal code for unnamed options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TelnetOption;

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(TelnetOption::from(code).code(), code);
        }
    }

    #[test]
    fn names_match_telnetlib3() {
        assert_eq!(TelnetOption::NewEnviron.to_string(), "NEW_ENVIRON");
        assert_eq!(TelnetOption::from(24).to_string(), "TTYPE");
        assert_eq!(TelnetOption::from(0).to_string(), "BINARY");
        assert_eq!(TelnetOption::from(150).to_string(), "150");
        assert_eq!(TelnetOption::from_name("naws"), Some(TelnetOption::Naws));
        assert_eq!(TelnetOption::from_name("nope"), None);
    }

    #[test]
    fn unknown_built_by_hand_equals_named() {
        assert_eq!(TelnetOption::Unknown(1), TelnetOption::Echo);
        assert_eq!(TelnetOption::Unknown(1).name(), Some("ECHO"));
    }
}
