"""The twin's `flux` and the Flux objects it reconciles (Kustomizations, HelmReleases)."""
