{{/* The chart name, shortened to fit a label. */}}
{{- define "bitbucket-token-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects. */}}
{{- define "bitbucket-token-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "bitbucket-token-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "bitbucket-token-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the operator's pods. */}}
{{- define "bitbucket-token-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bitbucket-token-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "bitbucket-token-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bitbucket-token-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Namespace and name of the leader-election Lease. */}}
{{- define "bitbucket-token-operator.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}
{{- define "bitbucket-token-operator.leaseName" -}}
{{- default (include "bitbucket-token-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
The container image reference. image.registry, when set, replaces the registry of image.repository
(its first component when that names a host, as container tools read it: it holds a "." or a ":" or
is "localhost"), or is put in front of a repository that names none.
*/}}
{{- define "bitbucket-token-operator.image" -}}
{{- $repository := .Values.image.repository }}
{{- with .Values.image.registry }}
{{- $parts := splitn "/" 2 $repository }}
{{- $first := $parts._0 }}
{{- if and $parts._1 (or (contains "." $first) (contains ":" $first) (eq "localhost" $first)) }}
{{- $repository = $parts._1 }}
{{- end }}
{{- $repository = printf "%s/%s" . $repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Whether the Lease is in the release namespace, where the Deployment that owns it is. */}}
{{- define "bitbucket-token-operator.leaseOwned" -}}
{{- if eq (include "bitbucket-token-operator.leaseNamespace" .) .Release.Namespace }}true{{ end }}
{{- end }}

{{/*
What the operator does with the API in a namespace it watches, and nothing more:
- BitbucketTokens: list and watch (the controller's cache); patch status (server-side apply).
- bitbuckettokens/finalizers update: only so that the rendered Secret's ownerReference may set
  blockOwnerDeletion where the OwnerReferencesPermissionEnforcement admission plugin is on
  (OpenShift). The operator never writes finalizers.
- Secrets: get (the token and CA Secrets it references, its own rendered Secret), list and watch
  (metadata only), create and patch (server-side apply) its rendered Secrets, delete (only to
  recreate its own Secret when the formats change its immutable type).
- Events (events.k8s.io): create, and patch to count a repeated Event.
*/}}
{{- define "bitbucket-token-operator.rules" -}}
- apiGroups: ["bitbucket-token-operator.io"]
  resources: ["bitbuckettokens"]
  verbs: ["list", "watch"]
- apiGroups: ["bitbucket-token-operator.io"]
  resources: ["bitbuckettokens/status"]
  verbs: ["patch"]
- apiGroups: ["bitbucket-token-operator.io"]
  resources: ["bitbuckettokens/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* spec.target.restartOnRotation: find the selected workloads and annotate their pod template. */}}
{{- define "bitbucket-token-operator.restartRules" -}}
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["list", "patch"]
{{- end }}
