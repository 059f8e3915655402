# config fails: loading reports the exit code and nu's error.

def main [] {}

def "main config" [] { error make {msg: "config is broken on purpose"} }
