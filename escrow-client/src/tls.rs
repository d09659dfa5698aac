//! HTTPS to a trustee node, with the node's TLS key tied to the trustee (issue 17,
//! `docs/api.md` §3.1).
//!
//! A CA-valid certificate says only that the CA vouched for the name; a man in the middle with
//! such a certificate (a compromised or careless CA, a corporate interception proxy) would
//! otherwise read and alter every answer. So every HTTPS handshake of a [`crate::NodeClient`]
//! is checked twice: by rustls/webpki against the trusted roots as usual, and then the key of
//! the certificate presented is compared with the key the trustee bound with its signing key
//! in its signed `/v1/info`:
//!
//! * until [`crate::NodeClient::bind_tls`] has been given a verified `/v1/info`, every key
//!   presented is recorded;
//! * `bind_tls` accepts the answer only if every key recorded is the one it binds
//!   ([`escrow_core::api::Info::check_tls_keys`]), and pins it;
//! * after that, a handshake presenting another key fails inside the TLS handshake, before
//!   any request is sent, and the request fails with [`crate::ClientError::TlsKey`] naming the
//!   trustee (not retried).
//!
//! The connector is ureq's own chain (CONNECT proxy, TCP) with this TLS step in place of
//! ureq's rustls step (which has no hook for a certificate check of our own).

use escrow_core::api::InfoError;
use escrow_core::codec::Digest32;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme, StreamOwned,
};
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex, MutexGuard};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

/// The most distinct keys recorded before binding (a node presents one; more is refused).
const MAX_SEEN: usize = 8;

/// What the handshakes of one client have shown, and the pin once bound.
#[derive(Debug, Default)]
pub(crate) struct PinState {
    /// Distinct key fingerprints presented so far (at most [`MAX_SEEN`]).
    pub(crate) seen: Vec<Digest32>,
    /// More distinct keys than [`MAX_SEEN`] were presented.
    pub(crate) overflow: bool,
    /// The trustee and its bound key, once [`crate::NodeClient::bind_tls`] accepted it.
    pub(crate) pinned: Option<(u16, Digest32)>,
    /// A handshake refused because its key was not the pinned one.
    pub(crate) refused: Option<InfoError>,
}

/// Shared by a [`crate::NodeClient`] and its clones.
pub(crate) type Pin = Arc<Mutex<PinState>>;

pub(crate) fn lock(p: &Pin) -> MutexGuard<'_, PinState> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// webpki's verification, then the pin.
#[derive(Debug)]
struct PinningVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pin: Pin,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        let fp = escrow_core::api::tls_key_fingerprint(parsed.subject_public_key_info().as_ref());
        let mut st = lock(&self.pin);
        if let Some((trustee, bound)) = st.pinned {
            if fp != bound {
                let e = InfoError::TlsKeyDiffers {
                    trustee,
                    served: fp.to_hex(),
                    bound: bound.to_hex(),
                };
                let text = e.to_string();
                st.refused = Some(e);
                return Err(rustls::Error::General(text));
            }
        } else if !st.seen.contains(&fp) {
            if st.seen.len() < MAX_SEEN {
                st.seen.push(fp);
            } else {
                st.overflow = true;
            }
        }
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The rustls configuration of one client: `roots` (the `--ca-cert` certificates, or the
/// public web roots), ring, and the pin.
pub(crate) fn client_config(
    roots: Option<&[CertificateDer<'static>]>,
    pin: Pin,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut store = RootCertStore::empty();
    match roots {
        Some(certs) => {
            let (added, _) = store.add_parsable_certificates(certs.iter().cloned());
            if added == 0 {
                return Err("no usable certificate".into());
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinningVerifier { inner, pin }))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The TLS step of the connector chain.
#[derive(Debug)]
pub(crate) struct PinnedTls {
    pub(crate) config: Arc<rustls::ClientConfig>,
}

impl<In: Transport> Connector<In> for PinnedTls {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .host()
            .ok_or(ureq::Error::Tls("no host in the URL"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host)
            .map_err(|_| ureq::Error::Tls("not a DNS name or IP address"))?
            .to_owned();
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock)?;
        Ok(Some(Either::B(TlsTransport {
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// A TLS connection (as ureq's own rustls transport).
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl core::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TlsTransport")
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = self
            .buffers
            .output()
            .get(..amount)
            .ok_or(ureq::Error::Tls("output larger than its buffer"))?;
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
