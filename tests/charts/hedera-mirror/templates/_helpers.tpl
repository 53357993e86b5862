{{- define "standin.namespace" -}}
{{- default .Release.Namespace .Values.global.namespaceOverride -}}
{{- end -}}

{{/* The mirror components the stand-in knows: values key, container port, service port (0: none), ingress path. */}}
{{- define "standin.components" -}}
importer: {port: 8080, servicePort: 80}
grpc: {port: 5600, servicePort: 5600, path: /com.hedera.mirror.api.proto}
rest: {port: 5551, servicePort: 80, path: /api/v1}
restjava: {port: 8084, servicePort: 80, path: /api/v1/network}
web3: {port: 8545, servicePort: 80, path: /api/v1/contracts/call}
monitor: {port: 8082, servicePort: 80}
pinger: {port: 8080, servicePort: 0}
graphql: {port: 8083, servicePort: 80, path: /graphql/alpha}
rosetta: {port: 5700, servicePort: 80}
{{- end -}}

{{/* Object name of a component: "<release>-<component>" unless the release name already contains it. */}}
{{- define "standin.componentName" -}}
{{- if contains .name .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of a component (solo groups mirror pods by component, name and instance). */}}
{{- define "standin.selectorLabels" -}}
app.kubernetes.io/component: {{ .name }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "standin.labels" -}}
{{ include "standin.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: hedera-mirror-node
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- with .root.Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of the umbrella chart's own objects. */}}
{{- define "standin.chartLabels" -}}
{{ include "standin.labels" (dict "root" . "name" "hedera-mirror") }}
{{- end -}}

{{/* Container env from a map; string values are templates, map values are taken as EnvVar sources. */}}
{{- define "standin.env" -}}
{{- range $key, $value := .env }}
- name: {{ $key }}
{{- if kindIs "map" $value }}
  {{- toYaml $value | nindent 2 }}
{{- else }}
  value: {{ tpl (toString $value) $.root | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "standin.image" -}}
{{- $tag := .image.tag | default .root.Chart.AppVersion -}}
{{- if .image.registry -}}{{ .image.registry }}/{{- end -}}{{ .image.repository }}:{{ $tag }}
{{- end -}}
