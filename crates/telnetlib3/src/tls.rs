//! TELNETS: Telnet over TLS, on rustls with the ring provider.
//!
//! A server is given a [`TlsServer`] in [`ServerConfig::tls`](crate::ServerConfig::tls)
//! (every connection TLS, or with [`ServerConfig::tls_auto`](crate::ServerConfig::tls_auto)
//! TLS and plain Telnet on one port); a client a [`TlsClient`] in
//! [`ClientConfig::tls`](crate::ClientConfig::tls). A session over TLS shows what was agreed
//! in [`TelnetWriter::tls`](crate::TelnetWriter::tls).
//!
//! ```no_run
//! use std::sync::Arc;
//! use telnetlib3::tls::TlsServer;
//! use telnetlib3::ServerConfig;
//!
//! # fn demo() -> Result<(), telnetlib3::tls::TlsError> {
//! let mut config = ServerConfig::default();
//! config.port = 992; // telnets
//! config.tls = Some(Arc::new(TlsServer::from_pem_files("cert.pem", "key.pem", None)?));
//! # Ok(()) }
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig as RustlsClientConfig, RootCertStore, ServerConfig as RustlsServerConfig,
};

pub use rustls;

/// What is wrong with a TLS configuration: its files, or its use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate, key or CA file could not be read.
    #[error("cannot read {}: {}", path.display(), crate::error::os_message(source))]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A file holds no PEM block of the kind it should.
    #[error("{}: no PEM {what} found", path.display())]
    NoPem {
        /// The file.
        path: PathBuf,
        /// `certificate` or `private key`.
        what: &'static str,
    },
    /// A PEM block could not be decoded.
    #[error("{}: {reason}", path.display())]
    BadPem {
        /// The file.
        path: PathBuf,
        /// The decoder's reason.
        reason: String,
    },
    /// The private key does not belong to the certificate.
    #[error("{} does not match the private key in {}", cert.display(), key.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The system's trusted roots could not be loaded.
    #[error("no trusted root certificates: {0}")]
    NoRoots(String),
    /// rustls refused the configuration (a key of an unsupported type, say).
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    /// A client made from the caller's own rustls configuration cannot be changed here.
    #[error("the rustls configuration was given whole: set it there")]
    CustomConfig,
    /// `tls_auto` was set without a TLS configuration to offer.
    #[error("tls_auto needs a TLS configuration (certificate and key)")]
    AutoWithoutTls,
}

/// The certificate files a [`TlsServer`] was loaded from, to read again on a reload.
#[derive(Debug, Clone)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
}

impl Files {
    fn load(&self) -> Result<RustlsServerConfig, TlsError> {
        let chain = read_certificates(&self.cert)?;
        let key = read_key(&self.key)?;
        let builder = RustlsServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?;
        let builder = match &self.client_ca {
            Some(path) => {
                let roots = Arc::new(root_store(path)?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
                    .build()
                    .map_err(|error| TlsError::BadPem {
                        path: path.clone(),
                        reason: error.to_string(),
                    })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        check_key(&chain, &key, &self.cert, &self.key)?;
        Ok(builder.with_single_cert(chain, key)?)
    }

    fn modified(&self) -> Vec<Option<SystemTime>> {
        [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()]
            .into_iter()
            .flatten()
            .map(|path| fs::metadata(path).and_then(|m| m.modified()).ok())
            .collect()
    }
}

/// A server's TLS configuration, replaceable while the server runs: new connections take
/// the configuration current when they arrive, open ones keep theirs.
pub struct TlsServer {
    config: RwLock<Arc<RustlsServerConfig>>,
    files: Option<Files>,
    /// The files' modification times at the last load.
    loaded: Mutex<Vec<Option<SystemTime>>>,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl TlsServer {
    /// A server configuration built by the caller (rustls's own builder, any provider).
    #[must_use]
    pub fn new(config: Arc<RustlsServerConfig>) -> Self {
        Self {
            config: RwLock::new(config),
            files: None,
            loaded: Mutex::new(Vec::new()),
        }
    }

    /// Load the certificate chain (`cert`, PEM, the server's certificate first) and its
    /// private key (`key`, PEM: PKCS #8, PKCS #1 or SEC1), and with `client_ca`, require
    /// every client to present a certificate signed by one of the CA certificates in
    /// that file. TLS 1.2 and 1.3.
    ///
    /// # Errors
    ///
    /// A file that cannot be read or holds no certificate or key, a key that is not the
    /// certificate's, or one rustls cannot use.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
        client_ca: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let files = Files {
            cert: cert.as_ref().to_owned(),
            key: key.as_ref().to_owned(),
            client_ca: client_ca.map(Path::to_owned),
        };
        let modified = files.modified();
        let config = files.load()?;
        Ok(Self {
            config: RwLock::new(Arc::new(config)),
            files: Some(files),
            loaded: Mutex::new(modified),
        })
    }

    /// The configuration new connections get.
    #[must_use]
    pub fn current(&self) -> Arc<RustlsServerConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Give new connections `config` from now on.
    pub fn replace(&self, config: Arc<RustlsServerConfig>) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// Read the files this configuration came from again (after a certificate renewal);
    /// new connections get what they hold now. Nothing changes if they cannot be loaded.
    /// Returns whether there were files to read.
    ///
    /// # Errors
    ///
    /// As [`TlsServer::from_pem_files`]; the configuration in use stays.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let Some(files) = &self.files else {
            return Ok(false);
        };
        let modified = files.modified();
        let config = files.load()?;
        self.replace(Arc::new(config));
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = modified;
        Ok(true)
    }

    /// [`reload`](TlsServer::reload) if a file changed (its modification time) since the
    /// last load. Returns whether it reloaded.
    ///
    /// # Errors
    ///
    /// As [`TlsServer::reload`]. A failed load is retried at the next call only if the
    /// files change again (a half-written file is retried when the writing ends).
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let Some(files) = &self.files else {
            return Ok(false);
        };
        let modified = files.modified();
        {
            let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            if *loaded == modified {
                return Ok(false);
            }
            *loaded = modified;
        }
        let config = files.load()?;
        self.replace(Arc::new(config));
        Ok(true)
    }
}

/// How a client verifies the server and which name it asks for (SNI).
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<RustlsClientConfig>,
    /// How the server is verified, for a configuration built here (to build it again
    /// with a client certificate).
    verifier: Option<Arc<dyn ServerCertVerifier>>,
    /// The name sent with SNI and verified against the certificate; `None`: the host
    /// connected to.
    pub server_name: Option<String>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsClient {
    /// A client configuration built by the caller (rustls's own builder).
    #[must_use]
    pub fn new(config: Arc<RustlsClientConfig>) -> Self {
        Self {
            config,
            verifier: None,
            server_name: None,
        }
    }

    /// Verify servers against the operating system's trusted roots.
    ///
    /// # Errors
    ///
    /// [`TlsError::NoRoots`] when the system has none that can be loaded.
    pub fn with_system_roots() -> Result<Self, TlsError> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            let reason = found
                .errors
                .first()
                .map_or_else(|| "the system has none".to_owned(), ToString::to_string);
            return Err(TlsError::NoRoots(reason));
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|error| TlsError::NoRoots(error.to_string()))?;
        Ok(Self::with_verifier(webpki))
    }

    /// Verify servers against the CA (or self-signed) certificates in `path` (PEM) only,
    /// as Python's `ssl.create_default_context(cafile=...)` does.
    ///
    /// # Errors
    ///
    /// A file that cannot be read or holds no certificate.
    pub fn with_ca_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let path = path.as_ref();
        let pinned = read_certificates(path)?;
        let roots = Arc::new(root_store(path)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|error| TlsError::BadPem {
                path: path.to_owned(),
                reason: error.to_string(),
            })?;
        Ok(Self::with_verifier(Arc::new(CaFileVerifier {
            webpki,
            pinned,
        })))
    }

    /// Accept any certificate: the connection is encrypted, but anyone between the client
    /// and the server can read and change it. For tests and for servers whose
    /// certificate cannot be verified otherwise.
    #[must_use]
    pub fn without_verification() -> Self {
        Self::with_verifier(Arc::new(NoVerification))
    }

    /// Ask for and verify `name` rather than the host connected to.
    #[must_use]
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Present the certificate chain in `cert` (PEM, the client's own first) with its
    /// private key in `key` to servers that ask for one.
    ///
    /// # Errors
    ///
    /// As [`TlsServer::from_pem_files`] for the files; [`TlsError::CustomConfig`] for a
    /// client made with [`TlsClient::new`] (put the certificate in that configuration).
    pub fn with_client_certificate(
        mut self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let verifier = self.verifier.clone().ok_or(TlsError::CustomConfig)?;
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let chain = read_certificates(cert)?;
        let private = read_key(key)?;
        check_key(&chain, &private, cert, key)?;
        let config = client_builder(verifier).with_client_auth_cert(chain, private)?;
        self.config = Arc::new(config);
        Ok(self)
    }

    fn with_verifier(verifier: Arc<dyn ServerCertVerifier>) -> Self {
        let config = client_builder(Arc::clone(&verifier)).with_no_client_auth();
        Self {
            config: Arc::new(config),
            verifier: Some(verifier),
            server_name: None,
        }
    }

    /// Handshake over `stream` with the server known as `host`.
    pub(crate) async fn connect<S>(
        &self,
        host: &str,
        stream: S,
    ) -> io::Result<tokio_rustls::client::TlsStream<S>>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let name = self.server_name.as_deref().unwrap_or(host);
        let name = ServerName::try_from(name.to_owned())
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
            .connect(name, stream)
            .await
    }
}

/// What a TLS session agreed, for logs and shells.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The protocol version as OpenSSL and Python name it: `TLSv1.3`, `TLSv1.2`.
    pub version: &'static str,
    /// The cipher suite's IANA name (`TLS_AES_256_GCM_SHA384`).
    pub cipher_suite: String,
    /// The server name the client asked for (SNI), on a server.
    pub server_name: Option<String>,
    /// The subject of the peer's certificate (a client certificate on a server that asks
    /// for them), as `CN=alice, O=Example`.
    pub peer_subject: Option<String>,
}

impl TlsInfo {
    pub(crate) fn of(connection: &rustls::CommonState, server_name: Option<&str>) -> Self {
        let version = match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "TLS",
        };
        let cipher_suite = connection
            .negotiated_cipher_suite()
            .and_then(|suite| suite.suite().as_str())
            // rustls marks the TLS 1.3 suites `TLS13_`; their IANA names have `TLS_`.
            .map(|name| name.replacen("TLS13_", "TLS_", 1))
            .unwrap_or_default();
        let peer_subject = connection
            .peer_certificates()
            .and_then(<[_]>::first)
            .and_then(|der| x509_parser::parse_x509_certificate(der).ok())
            .map(|(_, certificate)| certificate.subject().to_string());
        Self {
            version,
            cipher_suite,
            server_name: server_name.map(str::to_owned),
            peer_subject,
        }
    }
}

impl std::fmt::Display for TlsInfo {
    /// `TLSv1.3 TLS_AES_256_GCM_SHA384`, then the peer's subject if it has one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.version, self.cipher_suite)?;
        if let Some(subject) = &self.peer_subject {
            write!(f, " peer={subject}")?;
        }
        Ok(())
    }
}

/// rustls checks a key's type, not that it is the certificate's own: check that here, so
/// that a mismatch is an error at start rather than at every handshake.
fn check_key(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), TlsError> {
    let mismatch = || TlsError::KeyMismatch {
        cert: cert_path.to_owned(),
        key: key_path.to_owned(),
    };
    // `from_der` checks the pair itself in recent rustls; `keys_match` in older ones.
    match rustls::sign::CertifiedKey::from_der(chain.to_vec(), key.clone_key(), &provider()) {
        Err(rustls::Error::InconsistentKeys(_)) => Err(mismatch()),
        Err(error) => Err(error.into()),
        Ok(certified) => match certified.keys_match() {
            Err(rustls::Error::InconsistentKeys(_)) => Err(mismatch()),
            _ => Ok(()),
        },
    }
}

/// A client configuration's builder up to its client authentication.
fn client_builder(
    verifier: Arc<dyn ServerCertVerifier>,
) -> rustls::ConfigBuilder<RustlsClientConfig, rustls::client::WantsClientCert> {
    RustlsClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
}

/// The crypto provider of every configuration built here.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::BadPem {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoPem {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPem {
            path: path.to_owned(),
            what: "private key",
        },
        error => TlsError::BadPem {
            path: path.to_owned(),
            reason: error.to_string(),
        },
    })
}

fn root_store(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in read_certificates(path)? {
        roots.add(certificate).map_err(|error| TlsError::BadPem {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    }
    Ok(roots)
}

/// Verification against a CA file as OpenSSL (and so Python) does it: certificates
/// signed by a CA in the file, and also a certificate that is itself in the file (the
/// usual `openssl req -x509` self-signed certificate, which is marked as a CA and so
/// refused by WebPKI as a server's own), then checked for its name and validity dates
/// here.
#[derive(Debug)]
struct CaFileVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for CaFileVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let refused = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(refused) => refused,
        };
        if !self.pinned.iter().any(|pinned| pinned == end_entity) {
            return Err(refused);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        let valid = x509_parser::parse_x509_certificate(end_entity)
            .ok()
            .and_then(|(_, certificate)| {
                let at =
                    x509_parser::time::ASN1Time::from_timestamp(i64::try_from(now.as_secs()).ok()?)
                        .ok()?;
                Some(certificate.validity().is_valid_at(at))
            });
        match valid {
            Some(true) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            Some(false) => Err(rustls::CertificateError::Expired.into()),
            None => Err(rustls::CertificateError::BadEncoding.into()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A verifier that accepts every certificate (`--ssl-no-verify`), but still checks that
/// the handshake's signatures are made by the certificate's key.
#[derive(Debug)]
struct NoVerification;

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A failed handshake's reason in words: rustls's own for a refused certificate
/// (`invalid peer certificate: certificate expired ...`), else the I/O error's.
pub(crate) fn handshake_message(error: &io::Error) -> String {
    if let Some(refused) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        use rustls::CertificateError as Refused;
        let why = match refused {
            rustls::Error::InvalidCertificate(Refused::UnknownIssuer) => {
                "certificate signed by an unknown authority (not among the trusted roots)"
            }
            rustls::Error::InvalidCertificate(Refused::Expired) => "certificate expired",
            rustls::Error::InvalidCertificate(Refused::ExpiredContext { not_after, .. }) => {
                let at = i64::try_from(not_after.as_secs())
                    .ok()
                    .and_then(|secs| x509_parser::time::ASN1Time::from_timestamp(secs).ok());
                return match at {
                    Some(at) => format!(
                        "invalid peer certificate: certificate expired (not valid after {at})"
                    ),
                    None => "invalid peer certificate: certificate expired".to_owned(),
                };
            }
            rustls::Error::InvalidCertificate(Refused::NotValidForName) => {
                "certificate not valid for the server's name"
            }
            rustls::Error::InvalidCertificate(Refused::Other(other))
                if other.to_string().contains("CaUsedAsEndEntity") =>
            {
                "the server's certificate is a CA certificate that is not trusted (self-signed?)"
            }
            // rustls shows some reasons only as their Debug form, with their context's
            // raw fields: name them in words instead.
            rustls::Error::InvalidCertificate(other) if shown_as_debug(&other.to_string()) => {
                return format!(
                    "invalid peer certificate: {}",
                    reason_in_words(&other.to_string())
                );
            }
            refused => return refused.to_string(),
        };
        return format!("invalid peer certificate: {why}");
    }
    match error.kind() {
        io::ErrorKind::UnexpectedEof => "the peer closed the connection".to_owned(),
        io::ErrorKind::TimedOut => "timed out".to_owned(),
        _ => crate::error::os_message(error),
    }
}

/// For `tls_auto`: whether the connection begins with a TLS handshake, by its first byte,
/// left unread for what follows. `false` at once for any other byte, and after `wait`
/// of silence (a Telnet client waits for the server to speak first; a TLS client never
/// does). `None`: the client closed, or the socket failed.
pub(crate) async fn sniff(
    socket: &tokio::net::TcpStream,
    wait: std::time::Duration,
) -> Option<bool> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(wait, socket.peek(&mut first)).await {
        Err(_) => {
            tracing::debug!(
                "tls-auto: no data in {:.1}s, assuming plain telnet",
                wait.as_secs_f64()
            );
            Some(false)
        }
        Ok(Ok(0)) => None,
        Ok(Ok(_)) if first[0] == crate::stream::TLS_HANDSHAKE_RECORD => {
            tracing::debug!("tls-auto: TLS ClientHello detected");
            Some(true)
        }
        Ok(Ok(_)) => {
            tracing::debug!("tls-auto: non-TLS byte 0x{:02x}, plain telnet", first[0]);
            Some(false)
        }
        Ok(Err(error)) => {
            tracing::debug!("tls-auto: {}", crate::error::os_message(&error));
            None
        }
    }
}

/// The server's side of a handshake on an accepted connection, within `timeout`, with
/// the configuration current now. `None` (logged) if it fails.
pub(crate) async fn accept(
    socket: tokio::net::TcpStream,
    peer: &std::net::SocketAddr,
    tls: &TlsServer,
    timeout: std::time::Duration,
) -> Option<(
    tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    TlsInfo,
)> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
    let failed = |reason: String| {
        tracing::info!(
            "TLS handshake failed for <Peer {} {}>: {reason}",
            peer.ip(),
            peer.port()
        );
    };
    match tokio::time::timeout(timeout, acceptor.accept(socket)).await {
        Ok(Ok(stream)) => {
            let connection = stream.get_ref().1;
            let info = TlsInfo::of(connection, connection.server_name());
            tracing::info!(
                "TLS handshake: {} cipher={} for <Peer {} {}>",
                info.version,
                info.cipher_suite,
                peer.ip(),
                peer.port()
            );
            Some((stream, info))
        }
        Ok(Err(error)) => {
            failed(handshake_message(&error));
            None
        }
        Err(_) => {
            failed(format!("timed out after {}s", timeout.as_secs_f64()));
            None
        }
    }
}

/// Whether rustls's text is a variant's Debug form (`Name { ... }`, `Name(...)`) rather
/// than a sentence.
fn shown_as_debug(text: &str) -> bool {
    match text.find(['{', '(']) {
        Some(at) => {
            let name = text[..at].trim_end();
            !name.is_empty()
                && !name.contains(' ')
                && name.starts_with(|c: char| c.is_ascii_uppercase())
        }
        None => false,
    }
}

/// `UnsupportedSignatureAlgorithmForPublicKeyContext { ... }` as "unsupported signature
/// algorithm for public key": the variant's name in words, without its fields.
fn reason_in_words(debug: &str) -> String {
    let name = debug.split(['{', '(', ' ']).next().unwrap_or(debug);
    let name = name.strip_suffix("Context").unwrap_or(name);
    let mut words = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_shown_as_debug_by_rustls_are_named_in_words() {
        assert_eq!(
            reason_in_words(
                "UnsupportedSignatureAlgorithmForPublicKeyContext { signature_algorithm_id: [6] }"
            ),
            "unsupported signature algorithm for public key"
        );
        assert_eq!(reason_in_words("Other(OtherError(X))"), "other");
        assert!(shown_as_debug(
            "UnsupportedSignatureAlgorithmContext { x: 1 }"
        ));
        assert!(!shown_as_debug(
            "certificate not valid for name \"a\"; certificate is only valid for DnsName(\"b\")"
        ));
        let error = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(
            handshake_message(&error),
            "invalid peer certificate: certificate signed by an unknown authority (not among the trusted roots)"
        );
    }
}
