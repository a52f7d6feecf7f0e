//! The TLS side of lanner's HTTPS servers: one PEM file, holding the certificate chain and the
//! private key (Falco's `falco.pem` layout, which the k8saudit plugin's `sslCertificate` shares),
//! turned into a [`TlsAcceptor`] with rustls and its `ring` provider.
//!
//! Two servers use it: the web server of falco.yaml's `webserver` block (`lanner-web`) and the
//! k8saudit plugin's audit webhook. The plugin is a `.so` of its own and must not link the
//! host's crates, hence a crate of its own with no lanner dependency.
//!
//! It owns reading and checking the file, and the server settings (TLS 1.2 and 1.3, rustls'
//! safe defaults, no client authentication). It does not own the sockets, the handshakes or
//! HTTP, nor the setting's name: [`TlsError`] names the file and what is wrong with it, and
//! each server words its own message around [`TlsError::path`] and [`TlsError::kind`].
//!
//! ```no_run
//! let acceptor = lanner_tls::acceptor_from_pem_file("/etc/falco/falco.pem")?;
//! // For each accepted TCP stream: `acceptor.accept(stream).await`.
//! # drop(acceptor);
//! # Ok::<(), lanner_tls::TlsError>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

pub use tokio_rustls::TlsAcceptor;

/// Why a PEM file cannot serve TLS: the file, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("cannot use `{}`: {kind}", path.display())]
pub struct TlsError {
    path: PathBuf,
    kind: ErrorKind,
}

/// What is wrong with the PEM file. The messages are the part a server puts after the file's
/// name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file cannot be read.
    #[error("{0}")]
    Unreadable(std::io::Error),
    /// The file is not PEM (a section without its end line, bad base64 ...).
    #[error("{0}")]
    Pem(pem::Error),
    /// No `CERTIFICATE` section.
    #[error("no certificate in the file")]
    NoCertificate,
    /// No private key section (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`).
    #[error("no private key in the file")]
    NoPrivateKey,
    /// rustls refused the key or the chain: a key of a kind it does not take, or one that
    /// does not match the first certificate.
    #[error("{0}")]
    Rejected(rustls::Error),
}

impl TlsError {
    /// The PEM file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is wrong with it.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

/// A TLS acceptor serving the certificate chain and private key of the PEM file at `path`.
/// The file is read once, here.
pub fn acceptor_from_pem_file(path: impl AsRef<Path>) -> Result<TlsAcceptor, TlsError> {
    let path = path.as_ref();
    let error = |kind| TlsError { path: path.to_path_buf(), kind };
    let pem = std::fs::read(path).map_err(|e| error(ErrorKind::Unreadable(e)))?;
    let config = server_config(&pem).map_err(error)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The server settings of PEM text: no I/O, so that every refusal tests without files.
fn server_config(pem: &[u8]) -> Result<rustls::ServerConfig, ErrorKind> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pem).collect::<Result<_, _>>().map_err(ErrorKind::Pem)?;
    if certs.is_empty() {
        return Err(ErrorKind::NoCertificate);
    }
    // The walk over the certificates has seen every section, so "no items" is the one error
    // left here; anything else is passed on as it is.
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        pem::Error::NoItemsFound => ErrorKind::NoPrivateKey,
        other => ErrorKind::Pem(other),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ErrorKind::Rejected)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(ErrorKind::Rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair};

    /// A self-signed certificate for `localhost` and its key, as PEM.
    fn cert_and_key() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn refusal(pem: &str) -> String {
        match server_config(pem.as_bytes()) {
            Ok(_) => "accepted".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    /// A handshake between a client trusting `cert` and a server with `config`, in memory.
    fn handshake(config: rustls::ServerConfig, cert: &str) {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = "localhost".try_into().unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
        let mut server = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        for _ in 0..10 {
            let mut wire = Vec::new();
            client.write_tls(&mut wire).unwrap();
            server.read_tls(&mut &wire[..]).unwrap();
            server.process_new_packets().unwrap();
            wire.clear();
            server.write_tls(&mut wire).unwrap();
            client.read_tls(&mut &wire[..]).unwrap();
            client.process_new_packets().unwrap();
            if !client.is_handshaking() && !server.is_handshaking() {
                return;
            }
        }
        panic!("the handshake did not finish");
    }

    #[test]
    fn certificate_and_key_in_either_order_serve_a_handshake() {
        let (cert, key) = cert_and_key();
        for pem in [format!("{key}{cert}"), format!("{cert}{key}")] {
            handshake(server_config(pem.as_bytes()).unwrap(), &cert);
        }
    }

    #[test]
    fn each_problem_is_told_apart() {
        let (cert, key) = cert_and_key();
        assert_eq!(refusal("not a certificate"), "no certificate in the file");
        assert_eq!(refusal(&key), "no certificate in the file");
        assert_eq!(refusal(&cert), "no private key in the file");
        let (_, other_key) = cert_and_key();
        assert_eq!(
            refusal(&format!("{cert}{other_key}")),
            "keys may not be consistent: KeyMismatch"
        );
        assert!(matches!(
            server_config(format!("{cert}{other_key}").as_bytes()),
            Err(ErrorKind::Rejected(_))
        ));
        let cut = &cert[..cert.len() - 10];
        assert!(matches!(server_config(cut.as_bytes()), Err(ErrorKind::Pem(_))), "{cut}");
    }

    #[test]
    fn errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("lanner-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let e = acceptor_from_pem_file(&missing).err().expect("a missing file is refused");
        assert!(matches!(e.kind(), ErrorKind::Unreadable(_)));
        assert_eq!(e.path(), missing);
        assert!(e.to_string().starts_with(&format!("cannot use `{}`: ", missing.display())));

        let (cert, key) = cert_and_key();
        let pem = dir.join("lanner.pem");
        std::fs::write(&pem, &cert).unwrap();
        let e = acceptor_from_pem_file(&pem).err().expect("a file without a key is refused");
        assert_eq!(
            e.to_string(),
            format!("cannot use `{}`: no private key in the file", pem.display())
        );
        std::fs::write(&pem, format!("{key}{cert}")).unwrap();
        assert!(acceptor_from_pem_file(&pem).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
