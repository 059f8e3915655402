# Writes status.message of Widgets (a CRD with an irregular plural and a status subresource).
def main [] { help main }

def "main config" [] {
  { name: "widget", group: "engine-test.kemper.buzz", version: "v1", kind: "Widget", requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let obj = $in | from yaml
  let want = $"Hello, ($obj.spec.name)"
  if ($obj | get --optional status.message) == $want { exit 0 }
  print ($obj | upsert status { message: $want } | to yaml)
  exit 2
}
