//! Certificates for the TLS tests, made with rcgen, and the PEM files they are written to.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rcgen::{
    date_time_ymd, BasicConstraints, Certificate, CertificateParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// A directory of its own under the system's temporary directory, removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "telnetlib3-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write `contents` to `name` in the directory (replacing it); returns its path as
    /// text, for command lines.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.path.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A certificate and its private key, as PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: String,
    pub key: String,
}

/// The names every server certificate here is for.
pub const SERVER_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A certificate authority that issues server and client certificates.
pub struct Authority {
    cert: Certificate,
    key: KeyPair,
}

impl Authority {
    /// A self-signed CA certificate with the common name `name`.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "telnetlib3 tests");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2099, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for [`SERVER_NAMES`], valid from 2020 to 2099.
    pub fn server(&self) -> Issued {
        self.issue(
            leaf(
                "localhost",
                &SERVER_NAMES,
                ExtendedKeyUsagePurpose::ServerAuth,
            ),
            (2020, 2099),
        )
    }

    /// A server certificate for [`SERVER_NAMES`] that expired in 2021.
    pub fn expired_server(&self) -> Issued {
        self.issue(
            leaf(
                "localhost",
                &SERVER_NAMES,
                ExtendedKeyUsagePurpose::ServerAuth,
            ),
            (2020, 2021),
        )
    }

    /// A client certificate with the common name `name`.
    pub fn client(&self, name: &str) -> Issued {
        self.issue(
            leaf(name, &[], ExtendedKeyUsagePurpose::ClientAuth),
            (2020, 2099),
        )
    }

    fn issue(&self, mut params: CertificateParams, (from, to): (i32, i32)) -> Issued {
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(to, 1, 1);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// A self-signed server certificate for [`SERVER_NAMES`] (not a CA: only trusted when
/// pinned).
pub fn self_signed_server() -> Issued {
    let mut params = leaf(
        "localhost",
        &SERVER_NAMES,
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2099, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Issued {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

fn leaf(common_name: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|&name| name.to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    params
}
