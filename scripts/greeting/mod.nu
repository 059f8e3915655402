# greeting: the smallest custom-resource controller. For a Greeting (examples.kemper.buzz/v1alpha1, CRD in
# crd/), it sets `status.message` to "Hello, <spec.name>" and `status.observedGeneration` to the object's
# generation, by printing the object with that status and exiting 2: the engine writes the status back
# through the status subresource. No kubectl needed.
#
# Try it by hand (nothing is written: the engine does the write-back):
#   nu mod.nu config
#   kubectl get greeting NAME -n NS -o yaml | nu --stdin mod.nu reconcile; echo $?
#
# Exit codes: 0 the status is up to date (stdout empty), 2 the object with its new status is on stdout,
# 1 the object has no spec.name.

def main [] { help main }

# The controller's configuration, as YAML.
def "main config" [] {
    {
        name: "greeting"
        group: "examples.kemper.buzz"
        version: "v1alpha1"
        kind: "Greeting"
        requeue_after_change: 10
        requeue_after_noop: 300
    } | to yaml
}

# Print the Greeting (YAML on stdin) with its status set and exit 2, or exit 0 when it is up to date.
def "main reconcile" [] {
    let obj = $in | from yaml
    let name = $obj.spec?.name? | default ""
    if $name == "" {
        print -e $"($obj.metadata.namespace)/($obj.metadata.name) has no spec.name"
        exit 1
    }
    let message = $"Hello, ($name)"
    let generation = $obj.metadata.generation? | default 0
    let status = $obj.status? | default {}
    if ($status.message? == $message) and ($status.observedGeneration? == $generation) {
        exit 0
    }
    print -e $"status.message: ($message)"
    # print, not a bare expression: a value is not printed once `exit` follows.
    print ($obj | upsert status ($status | merge { message: $message, observedGeneration: $generation }) | to yaml)
    exit 2
}
