"""Typed wrappers around the real cluster tools (talosctl, kubectl, ceph through the Rook toolbox, flux)."""
