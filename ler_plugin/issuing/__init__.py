"""The district as issuer: its signing key (did:key) and the credentials it signs for its
teachers (Open Badges 3.0, CLR 2.0). Orchestrates `wallet` (the records), `districts` (the
issuer's name) and `badges` (the Data Integrity proof the verifier is tested with)."""
