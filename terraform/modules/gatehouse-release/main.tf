# charts/gatehouse on a cluster: the dr-drill and probe CronJobs, pinned to the image digest
# the release script recorded. The load test stays off here: it is started per release by
# the workflows (helm upgrade --set loadtest.enabled=true), not kept installed.
resource "helm_release" "gatehouse" {
  name             = var.release_name
  namespace        = var.namespace
  create_namespace = true
  chart            = var.chart_path
  atomic           = true
  wait             = true
  timeout          = 600

  values = [yamlencode({
    image = {
      repository = var.image_repository
      tag        = var.image_tag
      digest     = var.image_digest
    }
    drDrill = {
      enabled     = true
      schedule    = var.dr_drill_schedule
      databaseUrl = var.database_url
      existingSecret = {
        name        = var.database_secret_name
        passwordKey = "password"
      }
    }
    probes = {
      enabled        = true
      schedule       = var.probes_schedule
      env            = var.probe_env
      goldenPaths    = file(var.golden_paths_file)
      envFromSecrets = var.probe_secrets
      extraEnv       = var.probe_extra_env
    }
    loadtest       = { enabled = false }
    prometheusRule = { enabled = var.prometheus_rule }
  })]
}
