{{- define "gotk.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "gotk.commonArgs" -}}
- --log-level={{ .Values.logLevel }}
- --log-encoding={{ .Values.logEncoding }}
- --watch-all-namespaces={{ .Values.watchAllNamespaces }}
- --enable-leader-election={{ .Values.leaderElection }}
- --metrics-addr=:8080
- --health-addr=:9440
{{- end -}}

{{- define "gotk.probes" -}}
ports:
  - {name: http-prom, containerPort: 8080}
  - {name: healthz, containerPort: 9440}
livenessProbe:
  httpGet: {path: /healthz, port: healthz}
readinessProbe:
  httpGet: {path: /readyz, port: healthz}
{{- end -}}
