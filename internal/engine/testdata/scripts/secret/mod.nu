# Prints the Secret it reads, encoded and decoded, to stdout and stderr, and exits with the code in its
# label engine-test/exit; with 2 it writes the object back (a label added) and prints the secret on stderr.
def main [] { help main }

def "main config" [] {
  { name: "secret", version: "v1", kind: "Secret", labelSelectors: { "engine-test/secret": "yes" }, requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let raw = $in
  let obj = $raw | from yaml
  let plain = $obj.data.token | decode base64 | decode
  let code = $obj.metadata.labels | get --optional "engine-test/exit" | default "0" | into int
  print -e $raw
  print -e $"token ($plain)"
  if $code == 2 {
    if ($obj.metadata.labels | get --optional written) == "yes" { exit 0 }
    print ($obj | upsert metadata.labels.written "yes" | to json)
    exit 2
  }
  print $raw
  print $"token ($plain)"
  exit $code
}
