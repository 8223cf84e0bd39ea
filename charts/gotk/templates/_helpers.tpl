{{/* Labels every object of the release carries; `component` names the service. */}}
{{- define "gotk.labels" -}}
app.kubernetes.io/name: gotk
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: gotk
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* The cluster-scoped name of a service's RBAC: unique per release and namespace. */}}
{{- define "gotk.clusterName" -}}
{{ printf "%s-%s-%s" .root.Release.Name .root.Release.Namespace .component }}
{{- end -}}

{{/* A service's image: its own repository/tag, else <registry>/<service>:<tag|appVersion>. */}}
{{- define "gotk.image" -}}
{{- $repository := .values.image.repository | default (printf "%s/%s" .root.Values.image.registry .component) -}}
{{- $tag := .values.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{ printf "%s:%s" $repository $tag }}
{{- end -}}

{{/* Scheduling: the service's own nodeSelector/tolerations/affinity, else the global ones. */}}
{{- define "gotk.scheduling" -}}
{{- with (.values.nodeSelector | default .root.Values.nodeSelector) }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.values.tolerations | default .root.Values.tolerations) }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.values.affinity | default .root.Values.affinity) }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The flags every controller takes. */}}
{{- define "gotk.controllerArgs" -}}
- --log-level={{ .Values.logLevel }}
- --log-encoding={{ .Values.logEncoding }}
- --watch-all-namespaces={{ .Values.watchAllNamespaces }}
- --enable-leader-election={{ .Values.leaderElection }}
- --metrics-addr=:8080
- --health-addr=:9440
{{- end -}}

{{/* The restricted pod and container security contexts (the images run as uid 65532). */}}
{{- define "gotk.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "gotk.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}
