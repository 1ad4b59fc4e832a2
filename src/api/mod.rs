//! The `BitbucketToken` API (group `bitbucket-token-operator.io`, version `v1beta1`).

mod condition;
mod duration;
mod reason;
mod spec;
mod status;

pub use condition::{ConditionStatus, ConditionType, kube_time};
pub use duration::{GoDuration, GoDurationError};
pub use reason::{Reason, UnknownReason};
pub use spec::{
    AccessSpec, BitbucketToken, BitbucketTokenSpec, DEFAULT_MOUNT_PATH, DataCenterServer,
    DeletionPolicy, OutputFormat, Permission, RestartOnRotation, SecretKeyRef, ServerSpec,
    TargetSpec, TokenKind, TokenSpec, ValidationSpec,
};
pub use status::{BitbucketTokenStatus, ExpirySource, RestartRecord};

/// The API group of every resource this operator defines.
pub const API_GROUP: &str = "bitbucket-token-operator.io";
/// The only served version.
pub const API_VERSION: &str = "v1beta1";

#[cfg(test)]
mod tests;
