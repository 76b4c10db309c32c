package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// routes is the whole HTTP surface of the app, on one screen.
func (s *server) routes() {
	e := s.echo
	e.Use(
		middleware.RequestID(),
		s.logRequests(),
		s.recoverPanics(),
		s.securityHeaders,
	)

	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", s.Documents.YAML) })
	e.GET("/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, s.Documents.JSON) })

	api := e.Group("/api",
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: s.RequestTimeout}),
		middleware.BodyLimit(bodyLimit),
		s.authenticate,
		s.rateLimit(),
	)
	// One route per row of the contract's table (contract.Operations).
	for _, op := range s.Contract.Operations() {
		api.Add(op.Method, strings.TrimPrefix(echoPath(op.Path), "/api"), s.handle(op))
	}

	e.GET("/ws", s.handleWebSocket, s.authenticate, s.upgradeLimit())

	// The MCP endpoint takes only the tokens MCPAuth accepts (JWTs issued
	// for its resource), and its 401 points to the metadata. Each tool
	// call has its own timeout. GET and DELETE reach the transport, which
	// answers them as the MCP spec says.
	if s.MCP != nil {
		mcp, metadata := echo.WrapHandler(s.MCP), echo.WrapHandler(s.MCP.Metadata())
		limits := []echo.MiddlewareFunc{middleware.BodyLimit(bodyLimit), s.authenticateMCP, s.rateLimit()}
		e.Match([]string{http.MethodGet, http.MethodPost, http.MethodDelete}, "/mcp", mcp, limits...)
		e.Match([]string{http.MethodGet, http.MethodPost, http.MethodDelete}, "/mcp/", mcp, limits...)
		e.Match([]string{http.MethodGet, http.MethodOptions}, "/.well-known/oauth-protected-resource", metadata)
		e.Match([]string{http.MethodGet, http.MethodOptions}, "/.well-known/oauth-protected-resource/mcp", metadata)
	}

	if s.IdP != nil {
		e.Any("/oidc/*", echo.WrapHandler(s.IdP))
	}
	if s.Web != nil {
		e.Any("/*", echo.WrapHandler(s.Web))
	}
}
