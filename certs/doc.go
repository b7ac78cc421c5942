// Package certs loads and hot-reloads TLS certificates, applies the client-certificate policy for MTLS, and makes a development PKI.
package certs
