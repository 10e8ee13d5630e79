//! Who may do what, as operations on the store: invitations, enrolled clients and signed control
//! requests. The rules and their SQL are in `store::clients` (enrolment, pseudonym ownership,
//! quotas) and `store::controls` (revocations, erasures, delegations, replays); this module runs
//! each as one transaction of the metadata database, for the API and for `veil admin`.

use crate::ApiError;
use crate::control::SignedRequest;
use crate::store::ArtifactStore;
use crate::store::clients::{self, ClientRecord, Enrolment, Invitation};
use crate::store::controls::{self, ControlAction, ControlAnswer};

impl ArtifactStore {
    /// Create an invitation allowing `uses` enrolments until `expires_ms`. The code is returned
    /// once; only its SHA-256 is stored.
    pub async fn create_invite(
        &self,
        name: Option<String>,
        uses: u32,
        expires_ms: u64,
        now_ms: u64,
    ) -> Result<Invitation, ApiError> {
        if uses == 0 {
            return Err(ApiError::BadRequest(
                "an invitation allows at least one use".into(),
            ));
        }
        let code = clients::new_code()?;
        let (stored_code, stored_name) = (code.clone(), name.clone());
        self.database()
            .transaction(move |tx| {
                clients::insert_invite(
                    tx,
                    &stored_code,
                    stored_name.as_deref(),
                    uses,
                    expires_ms,
                    now_ms,
                )
            })
            .await?;
        Ok(Invitation {
            code,
            expires_ms,
            name,
            uses,
        })
    }

    /// Enrol `client_key` (uncompressed SEC1 hex, id `kid`) with invitation `code`.
    pub async fn enrol(
        &self,
        code: &str,
        client_key: &str,
        kid: &str,
        name: Option<String>,
        now_ms: u64,
    ) -> Result<Enrolment, ApiError> {
        let (code, client_key, kid) = (code.to_owned(), client_key.to_owned(), kid.to_owned());
        self.database()
            .transaction(move |tx| {
                clients::enrol(tx, &code, &client_key, &kid, name.as_deref(), now_ms)
            })
            .await
    }

    /// The client `kid` if it is enrolled and not revoked.
    pub async fn active_client(&self, kid: &str) -> Result<Option<ClientRecord>, ApiError> {
        let kid = kid.to_owned();
        self.database()
            .transaction(move |tx| {
                Ok(clients::client_in(tx, &kid)?.filter(|c| c.revoked_ms.is_none()))
            })
            .await
    }

    /// Every client, enrolled or revoked, oldest first.
    pub async fn clients(&self) -> Result<Vec<ClientRecord>, ApiError> {
        self.database().transaction(clients::all_clients).await
    }

    /// Revoke client `kid`: its later uploads and requests are refused `unknown-client`; what it
    /// delivered stays. Returns the record, `None` if there is no such client.
    pub async fn revoke_client(
        &self,
        kid: &str,
        now_ms: u64,
    ) -> Result<Option<ClientRecord>, ApiError> {
        let kid = kid.to_owned();
        self.database()
            .transaction(move |tx| clients::revoke_client(tx, &kid, now_ms))
            .await
    }

    /// Apply a verified control request from an enrolled client and record it byte-exact with its
    /// answer, in one transaction; a replay of the same bytes returns the recorded answer.
    pub async fn control(
        &self,
        request: SignedRequest,
        action: ControlAction,
        now_ms: u64,
    ) -> Result<ControlAnswer, ApiError> {
        self.database()
            .transaction(move |tx| controls::apply_and_record(tx, &request, &action, now_ms))
            .await
    }

    /// The stored control requests of one kind (`revocation`, `erasure`, `delegation`), oldest
    /// first: (body, signature), byte-exact as received, for re-verification by an auditor.
    pub async fn control_records(&self, kind: &str) -> Result<Vec<(String, String)>, ApiError> {
        let kind = kind.to_owned();
        self.database()
            .transaction(move |tx| controls::records(tx, &kind))
            .await
    }
}
