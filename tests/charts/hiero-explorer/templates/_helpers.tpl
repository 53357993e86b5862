{{- define "standin.namespace" -}}
{{- default .Release.Namespace .Values.global.namespaceOverride -}}
{{- end -}}

{{- define "standin.name" -}}
{{- default "hiero-explorer" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* solo sets fullnameOverride=hiero-explorer-1-<namespace> */}}
{{- define "standin.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "standin.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* solo waits for app.kubernetes.io/instance=<release> */}}
{{- define "standin.selectorLabels" -}}
app.kubernetes.io/component: hiero-explorer
app.kubernetes.io/name: {{ include "standin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "standin.labels" -}}
{{ include "standin.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
