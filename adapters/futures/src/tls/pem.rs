//! A server's certificate and key from PEM files, the way web servers take
//! them (`--tls-cert FILE --tls-key FILE`), with an error that names the
//! file and what is wrong with it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_rustls::rustls::pki_types::pem::{self, PemObject};
use futures_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use futures_rustls::rustls::{self, InconsistentKeys, ServerConfig};

/// Why [`server_config_from_pem`] made no configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum PemError {
    /// The certificate file could not be read, is not PEM, or holds no
    /// `CERTIFICATE` section.
    Certificate(PathBuf, pem::Error),
    /// The key file could not be read, is not PEM, or holds no private key
    /// (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`).
    Key(PathBuf, pem::Error),
    /// rustls refused the pair: the key does not belong to the first
    /// certificate, or is of a kind the `ring` provider cannot use.
    Rejected {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        error: rustls::Error,
    },
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, error, what) = match self {
            PemError::Certificate(path, e) => (path, e, "certificate (BEGIN CERTIFICATE)"),
            PemError::Key(path, e) => (path, e, "private key (BEGIN PRIVATE KEY, RSA or EC)"),
            PemError::Rejected { cert, key, error } => {
                let (cert, key) = (cert.display(), key.display());
                return match error {
                    rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => {
                        write!(f, "{key}: not the key of the certificate in {cert}")
                    }
                    e => write!(f, "{cert} and {key}: rejected: {e}"),
                };
            }
        };
        let path = path.display();
        match error {
            pem::Error::Io(e) => write!(f, "{path}: {e}"),
            pem::Error::NoItemsFound => write!(f, "{path}: no PEM {what} in it"),
            e => write!(f, "{path}: not a PEM {what}: {e}"),
        }
    }
}

impl std::error::Error for PemError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PemError::Certificate(_, e) | PemError::Key(_, e) => Some(e),
            PemError::Rejected { error, .. } => Some(error),
        }
    }
}

/// A server configuration ([`server_config`](super::server_config)) from
/// PEM files: the certificate chain in `cert` (the server's certificate
/// first, then any intermediates), its private key in `key` (PKCS#8,
/// PKCS#1 or SEC1; the first one found). Each file is read once, now.
pub fn server_config_from_pem(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<Arc<ServerConfig>, PemError> {
    let (cert, key) = (cert.as_ref(), key.as_ref());
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .and_then(|chain| {
            if chain.is_empty() {
                return Err(pem::Error::NoItemsFound);
            }
            Ok(chain)
        })
        .map_err(|e| PemError::Certificate(cert.to_path_buf(), e))?;
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| PemError::Key(key.to_path_buf(), e))?;
    super::server_config(chain, key_der).map_err(|error| PemError::Rejected {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory for one test, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("sse-pem-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn file(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_certificate_and_its_key_make_a_config() {
        let dir = Scratch::new("ok");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.file("cert.pem", &made.cert.pem());
        let key = dir.file("key.pem", &made.key_pair.serialize_pem());
        assert!(server_config_from_pem(&cert, &key).is_ok());
        // A chain file with the certificate twice is still a chain.
        let twice = dir.file("twice.pem", &(made.cert.pem() + &made.cert.pem()));
        assert!(server_config_from_pem(&twice, &key).is_ok());
    }

    #[test]
    fn each_bad_file_is_named_with_what_is_wrong() {
        let dir = Scratch::new("bad");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.file("cert.pem", &made.cert.pem());
        let key = dir.file("key.pem", &made.key_pair.serialize_pem());
        let wrong_key = dir.file("other.pem", &other.key_pair.serialize_pem());
        let missing = dir.0.join("missing.pem");
        let garbage = dir.file("garbage.pem", "-----BEGIN CERTIFICATE-----\n%%%\n");
        let error = |cert: &Path, key: &Path| server_config_from_pem(cert, key).unwrap_err();

        let e = error(&missing, &key);
        assert!(matches!(&e, PemError::Certificate(p, pem::Error::Io(_)) if *p == missing));
        assert!(
            e.to_string()
                .starts_with(&format!("{}: ", missing.display())),
            "{e}"
        );
        // The key where the certificate should be, and the other way round.
        let e = error(&key, &key);
        assert!(matches!(
            e,
            PemError::Certificate(_, pem::Error::NoItemsFound)
        ));
        assert!(
            e.to_string()
                .ends_with("key.pem: no PEM certificate (BEGIN CERTIFICATE) in it"),
            "{e}"
        );
        let e = error(&cert, &cert);
        assert!(matches!(e, PemError::Key(_, pem::Error::NoItemsFound)));
        assert!(
            e.to_string().contains("cert.pem: no PEM private key"),
            "{e}"
        );
        let e = error(&garbage, &key);
        assert!(
            e.to_string().contains("garbage.pem: not a PEM certificate"),
            "{e}"
        );
        let e = error(&cert, &wrong_key);
        assert!(matches!(e, PemError::Rejected { .. }), "{e:?}");
        let want = format!(
            "other.pem: not the key of the certificate in {}",
            cert.display()
        );
        assert!(e.to_string().ends_with(&want), "{e}");
    }
}
