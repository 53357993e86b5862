{{/* Namespace of every object: global.namespaceOverride or the release namespace. */}}
{{- define "standin.namespace" -}}
{{- default .Release.Namespace .Values.global.namespaceOverride -}}
{{- end -}}

{{/* "registry/repository:tag" from an image map. */}}
{{- define "standin.image" -}}
{{- $image := . -}}
{{- if $image.registry -}}{{ $image.registry }}/{{- end -}}{{ $image.repository }}:{{ $image.tag }}
{{- end -}}

{{/* Identity of one entry of hedera.nodes; fails early on an incomplete node list. */}}
{{- define "standin.node.check" -}}
{{- $_ := required "hedera.nodes[].name is required" .name -}}
{{- if kindIs "invalid" .nodeId -}}{{ fail (printf "hedera.nodes[] entry %s needs a nodeId" .name) }}{{- end -}}
{{- $_ := required (printf "hedera.nodes[] entry %s needs an accountId" .name) .accountId -}}
{{- end -}}

{{/* Labels every object of one consensus node carries. Arguments: dict node type */}}
{{- define "standin.node.labels" -}}
solo.hedera.com/node-name: {{ .node.name }}
solo.hedera.com/node-id: {{ .node.nodeId | toString | quote }}
solo.hedera.com/account-id: {{ .node.accountId | toString | quote }}
{{- end -}}

{{/* One pod volume: the node's PVC when volume claims are enabled, else an emptyDir.
Arguments: dict name claim enabled */}}
{{- define "standin.volume" -}}
- name: {{ .name }}
{{- if .enabled }}
  persistentVolumeClaim:
    claimName: {{ .claim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}
