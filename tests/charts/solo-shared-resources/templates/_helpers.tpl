{{- define "standin.namespace" -}}
{{- default .Release.Namespace .Values.global.namespaceOverride -}}
{{- end -}}

{{/* Labels of the chart's own Secrets (solo lists them with app.kubernetes.io/instance=solo-shared-resources). */}}
{{- define "standin.labels" -}}
app.kubernetes.io/component: solo-shared-resource
app.kubernetes.io/name: {{ .Release.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: solo-shared-resources-node
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Name of a bitnami sub-chart object: the release name, or "<release>-<name>" unless the release contains it. */}}
{{- define "standin.fullname" -}}
{{- if contains .name .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "standin.image" -}}
{{- if .registry -}}{{ .registry }}/{{- end -}}{{ .repository }}:{{ .tag }}
{{- end -}}
