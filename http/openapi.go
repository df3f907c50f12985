package http

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API description, committed as http/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
