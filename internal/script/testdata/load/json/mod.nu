# Config as JSON, with the camelCase requeue keys and a null finalizer.

def main [] {}

def "main config" [] {
    {name: json, version: v1, kind: ConfigMap, requeueAfterChange: 7, requeueAfterNoop: 70, finalizer: null} | to json
}
