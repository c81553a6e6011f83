//! What a person may do beyond their own account: the consoles' roles (SPEC "Consoles").
//! Roles are given and taken away by an operator (`idp user role`), never by the person
//! themself over HTTP.

/// One role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything support does, and clients, signing keys, registration tokens, the audit log.
    Admin,
    /// Finds people, sees their locks and recent security events, unlocks a PIN, ends
    /// sessions, removes a lost factor.
    Support,
    /// Registers and manages their own clients.
    Developer,
}

impl Role {
    /// Every role, in the order they are stored and shown.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Support, Role::Developer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Support => "support",
            Self::Developer => "developer",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == value)
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Admin => 1,
            Self::Support => 2,
            Self::Developer => 4,
        }
    }
}

/// A person's roles: each at most once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles(u8);

impl Roles {
    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    #[must_use]
    pub fn with(self, role: Role) -> Self {
        Self(self.0 | role.bit())
    }

    #[must_use]
    pub fn without(self, role: Role) -> Self {
        Self(self.0 & !role.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles held, in [`Role::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |role| self.has(*role))
    }

    /// As stored: the names, space-separated; `None` for no role.
    pub fn stored(self) -> Option<String> {
        (!self.is_empty()).then(|| self.iter().map(Role::as_str).collect::<Vec<_>>().join(" "))
    }

    /// What [`Roles::stored`] wrote; `None` when it holds a name that is no role.
    pub fn from_stored(stored: &str) -> Option<Self> {
        stored
            .split_whitespace()
            .try_fold(Self::default(), |roles, name| {
                Role::parse(name).map(|role| roles.with(role))
            })
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(roles: I) -> Self {
        roles.into_iter().fold(Self::default(), Self::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_stored_and_read_back_in_one_order() {
        let roles: Roles = [Role::Developer, Role::Admin].into_iter().collect();
        assert_eq!(roles.stored().as_deref(), Some("admin developer"));
        assert_eq!(Roles::from_stored("admin developer"), Some(roles));
        assert_eq!(Roles::from_stored("developer  admin"), Some(roles));
        assert_eq!(Roles::default().stored(), None);
        assert_eq!(Roles::from_stored(""), Some(Roles::default()));
        assert_eq!(Roles::from_stored("admin root"), None);
        assert!(!roles.without(Role::Admin).has(Role::Admin));
        assert!(roles.without(Role::Admin).has(Role::Developer));
        assert_eq!(roles.with(Role::Admin), roles);
    }
}
