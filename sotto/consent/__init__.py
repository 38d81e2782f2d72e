"""Recording consent: templates, invitations, signing, the sealed PDF, withdrawal."""
