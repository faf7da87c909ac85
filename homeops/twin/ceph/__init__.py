"""Ceph as the Rook toolbox's `ceph` shows it, and Rook's disruption controller that follows the nodes."""
