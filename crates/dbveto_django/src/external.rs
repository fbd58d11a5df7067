//! Model base classes that live outside the repository (a plugin's host
//! framework, Django's own abstract user): the fields they give the tables
//! of their subclasses, for the most used ones, as their sources declare
//! them. A column of a subclass's table that neither the class, its bases
//! in the repository nor these fields account for was added by the
//! repository's own migrations and is never sent by the ORM.

/// A base class and the fields (by name, as migrations spell them) it
/// contributes to each concrete subclass's table, its own bases' included.
pub struct KnownBase {
    /// Where the class is defined, and the package it is documented under.
    pub path: &'static str,
    /// The release the list was read from.
    pub release: &'static str,
    pub fields: &'static [&'static str],
}

/// Read from each project's source at the release named.
pub const KNOWN_BASES: &[KnownBase] = &[
    KnownBase { path: "django.contrib.auth.models.AbstractUser", release: "Django 5.2", fields: &["id", "password", "last_login", "is_superuser", "groups", "user_permissions", "username", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined"] },
    KnownBase { path: "django.contrib.auth.base_user.AbstractBaseUser", release: "Django 5.2", fields: &["id", "password", "last_login"] },
    KnownBase { path: "django.contrib.auth.models.PermissionsMixin", release: "Django 5.2", fields: &["id", "is_superuser", "groups", "user_permissions"] },
    KnownBase { path: "django.contrib.sessions.base_session.AbstractBaseSession", release: "Django 5.2", fields: &["session_key", "session_data", "expire_date"] },
    // NetBox's model bases (`netbox/models/__init__.py`, `features.py`,
    // `mixins.py`), the union over the releases named: the feature mixins
    // add these columns; bookmarks, journal entries, image attachments and
    // contacts are generic relations, no column.
    KnownBase { path: "netbox.models.NetBoxModel", release: "NetBox 4.2 to 4.7", fields: &["id", "created", "last_updated", "custom_field_data", "tags"] },
    KnownBase { path: "netbox.models.ChangeLoggedModel", release: "NetBox 4.2 to 4.7", fields: &["id", "created", "last_updated"] },
    KnownBase { path: "netbox.models.PrimaryModel", release: "NetBox 4.2 to 4.7", fields: &["id", "created", "last_updated", "custom_field_data", "tags", "owner", "description", "comments"] },
    KnownBase { path: "netbox.models.OrganizationalModel", release: "NetBox 4.2 to 4.7", fields: &["id", "created", "last_updated", "custom_field_data", "tags", "owner", "name", "slug", "description", "comments"] },
    KnownBase { path: "netbox.models.NestedGroupModel", release: "NetBox 4.2 to 4.7", fields: &["id", "created", "last_updated", "custom_field_data", "tags", "owner", "parent", "name", "slug", "description", "comments", "lft", "rght", "tree_id", "level"] },
    KnownBase { path: "netbox.models.AdminModel", release: "NetBox 4.2 to 4.7", fields: &["id", "description"] },
    KnownBase { path: "netbox.models.mixins.OwnerMixin", release: "NetBox 4.2 to 4.7", fields: &["owner"] },
    KnownBase { path: "netbox.models.features.ChangeLoggingMixin", release: "NetBox 4.2 to 4.7", fields: &["created", "last_updated"] },
    KnownBase { path: "netbox.models.features.CustomFieldsMixin", release: "NetBox 4.2 to 4.7", fields: &["custom_field_data"] },
    KnownBase { path: "netbox.models.features.TagsMixin", release: "NetBox 4.2 to 4.7", fields: &["tags"] },
    KnownBase { path: "netbox.models.features.SyncedDataMixin", release: "NetBox 4.2 to 4.7", fields: &["data_source", "data_file", "data_path", "auto_sync_enabled", "data_synced"] },
    // Wagtail: `Page` is concrete, so a page type's own table holds only
    // the link to its row and the fields it declares.
    KnownBase { path: "wagtail.models.Page", release: "Wagtail 6.3", fields: &["page_ptr"] },
    KnownBase { path: "wagtail.images.models.AbstractImage", release: "Wagtail 6.3", fields: &["id", "collection", "title", "file", "description", "width", "height", "created_at", "uploaded_by_user", "tags", "focal_point_x", "focal_point_y", "focal_point_width", "focal_point_height", "file_size", "file_hash"] },
    KnownBase { path: "wagtail.images.models.AbstractRendition", release: "Wagtail 6.3", fields: &["id", "filter_spec", "file", "width", "height", "focal_point_key"] },
    KnownBase { path: "wagtail.documents.models.AbstractDocument", release: "Wagtail 6.3", fields: &["id", "collection", "title", "file", "created_at", "uploaded_by_user", "tags", "file_size", "file_hash"] },
    KnownBase { path: "model_utils.models.TimeStampedModel", release: "django-model-utils 5.0", fields: &["id", "created", "modified"] },
    KnownBase { path: "model_utils.models.TimeFramedModel", release: "django-model-utils 5.0", fields: &["id", "start", "end"] },
    KnownBase { path: "model_utils.models.StatusModel", release: "django-model-utils 5.0", fields: &["id", "status", "status_changed"] },
    KnownBase { path: "model_utils.models.SoftDeletableModel", release: "django-model-utils 5.0", fields: &["id", "is_removed"] },
    KnownBase { path: "model_utils.models.UUIDModel", release: "django-model-utils 5.0", fields: &["id"] },
    KnownBase { path: "django_extensions.db.models.TimeStampedModel", release: "django-extensions 4.1", fields: &["id", "created", "modified"] },
    KnownBase { path: "django_extensions.db.models.TitleDescriptionModel", release: "django-extensions 4.1", fields: &["id", "title", "description"] },
    KnownBase { path: "django_extensions.db.models.TitleSlugDescriptionModel", release: "django-extensions 4.1", fields: &["id", "title", "description", "slug"] },
    KnownBase { path: "django_extensions.db.models.ActivatorModel", release: "django-extensions 4.1", fields: &["id", "status", "activate_date", "deactivate_date"] },
    KnownBase { path: "mptt.models.MPTTModel", release: "django-mptt 0.20", fields: &["id", "lft", "rght", "tree_id", "level"] },
    KnownBase { path: "treebeard.mp_tree.MP_Node", release: "django-treebeard 4.7", fields: &["id", "path", "depth", "numchild"] },
    KnownBase { path: "treebeard.ns_tree.NS_Node", release: "django-treebeard 4.7", fields: &["id", "lft", "rgt", "tree_id", "depth"] },
];

/// The known base a dotted import path names: the same class of the same
/// top-level package (`wagtail.core.models.Page` is `wagtail.models.Page`
/// of an older release; `netbox.models.features.TagsMixin` is re-exported
/// as `netbox.models.TagsMixin`).
pub fn known_base(dotted: &str) -> Option<&'static KnownBase> {
    let (package, class) = (dotted.split('.').next()?, dotted.rsplit('.').next()?);
    KNOWN_BASES.iter().find(|b| b.path == dotted).or_else(|| {
        KNOWN_BASES.iter().find(|b| b.path.split('.').next() == Some(package) && b.path.rsplit('.').next() == Some(class))
    })
}

/// The class name of a dotted path, for messages.
pub fn class_name(dotted: &str) -> &str {
    dotted.rsplit('.').next().unwrap_or(dotted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_are_found_by_package_and_class() {
        assert_eq!(known_base("netbox.models.NetBoxModel").map(|b| b.path), Some("netbox.models.NetBoxModel"));
        assert_eq!(known_base("netbox.models.TagsMixin").map(|b| b.path), Some("netbox.models.features.TagsMixin"));
        assert_eq!(known_base("wagtail.core.models.Page").map(|b| b.path), Some("wagtail.models.Page"));
        assert!(known_base("myapp.models.NetBoxModel").is_none());
        assert!(known_base("django.db.models.Model").is_none());
        let netbox = known_base("netbox.models.NetBoxModel").map(|b| b.fields).unwrap_or_default();
        assert!(netbox.contains(&"custom_field_data") && !netbox.contains(&"managed_file_path"));
    }
}
