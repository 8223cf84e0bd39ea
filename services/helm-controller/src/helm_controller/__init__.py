"""gotk helm-controller: Flux HelmReleases (`helm.toolkit.fluxcd.io/v2`) on the Helm 4 binary."""
