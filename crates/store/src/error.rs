use model::ValidationError;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object asked for does not exist.
    #[error("{kind} {key} not found")]
    NotFound { kind: &'static str, key: String },
    /// The write would break a uniqueness rule (a username or group name already taken).
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// The object is in use by providers, which must stop using it first.
    #[error("{message}")]
    InUse { message: String },
    /// The input breaks a rule of the directory model.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database URL or options cannot be used.
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that this version cannot read back (a row written by hand, say).
    #[error("the database holds a value this version cannot read: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn not_found(kind: &'static str, key: impl ToString) -> Self {
        Self::NotFound {
            kind,
            key: key.to_string(),
        }
    }
}

/// Whether a database error is a unique-constraint violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
