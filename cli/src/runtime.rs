//! The runtime the `sse` command runs on: smol, through the `sse-smol`
//! adapter (DNS, TCP, rustls with Mozilla's roots).
//!
//! `--insecure` swaps in a certificate verifier that accepts anything, for
//! self-signed test servers; it still checks the handshake signatures.
//! Proxies (`--proxy`, the environment) go to the connector, which asks
//! `sse_core::proxy` where each URL goes.

use std::future::Future;
use std::sync::Arc;

use sse_core::client::Config;
use sse_core::proxy::Proxies;
use sse_smol::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use sse_smol::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sse_smol::rustls::{ClientConfig, DigitallySignedStruct, Error, SignatureScheme};
use sse_smol::tls::{provider, ClientTls};

/// Runs a future to completion on this thread.
pub fn block_on<T>(f: impl Future<Output = T>) -> T {
    smol::block_on(f)
}

/// An `EventSource` for the `listen` command.
pub fn event_source(
    url: &str,
    config: Config,
    insecure: bool,
    proxies: Proxies,
) -> Result<sse_smol::EventSource, String> {
    let connector = if insecure {
        let tls = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny))
            .with_no_client_auth();
        sse_smol::Connector::with_tls(ClientTls::from_config(Arc::new(tls)))
    } else {
        sse_smol::Connector::new()
    };
    let connector = connector.with_proxies(proxies);
    sse_smol::open_with(url, config, connector).map_err(|e| e.to_string())
}

/// Accepts any certificate (`--insecure`); signatures are still verified.
#[derive(Debug)]
struct AcceptAny;

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algs = provider().signature_verification_algorithms;
        sse_smol::rustls::crypto::verify_tls12_signature(message, cert, dss, &algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algs = provider().signature_verification_algorithms;
        sse_smol::rustls::crypto::verify_tls13_signature(message, cert, dss, &algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
