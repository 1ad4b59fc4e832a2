#!/usr/bin/env bash
# Turns the CRD YAML on stdin (from `bitbucket-token-operator crd`) into the chart's CRD template:
# rendered only with crds.enabled, labelled like the release, and kept on uninstall with crds.keep.
set -euo pipefail
echo '{{- if .Values.crds.enabled }}'
awk '
  { print }
  /^metadata:$/ && !done {
    print "  labels:"
    print "    {{- include \"bitbucket-token-operator.labels\" . | nindent 4 }}"
    print "  {{- if .Values.crds.keep }}"
    print "  annotations:"
    print "    helm.sh/resource-policy: keep"
    print "  {{- end }}"
    done = 1
  }
'
echo '{{- end }}'
