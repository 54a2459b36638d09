output "release" {
  description = "Name, namespace, chart version and revision of the installed release."
  value = {
    name      = helm_release.gatehouse.name
    namespace = helm_release.gatehouse.namespace
    version   = helm_release.gatehouse.version
    revision  = helm_release.gatehouse.metadata[0].revision
  }
}
