package api

import (
	"net/http"

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
	e.GET("/openapi.yaml", s.handleSpecYAML)
	e.GET("/openapi.json", s.handleSpecJSON)

	api := e.Group("/api",
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: s.RequestTimeout}),
		middleware.BodyLimit(bodyLimit),
		s.authenticate,
		s.rateLimit(),
		s.validateRequest,
	)
	api.GET("/events", s.handleListEvents)
	api.POST("/events", s.handleCreateEvent)
	api.GET("/events/:id", s.handleGetEvent)
	api.PATCH("/events/:id", s.handleUpdateEvent)
	api.DELETE("/events/:id", s.handleDeleteEvent)

	e.GET("/ws", s.handleWebSocket, s.authenticate)

	// The MCP endpoint authenticates on its own: only JWTs issued for its
	// resource, and a 401 that points to the metadata. Each tool call has
	// its own timeout. GET and DELETE reach the transport, which answers
	// them as the MCP spec says.
	if s.MCP != nil {
		mcp, metadata := echo.WrapHandler(s.MCP), echo.WrapHandler(s.MCP.Metadata())
		limits := []echo.MiddlewareFunc{middleware.BodyLimit(bodyLimit), s.rateLimitMCP()}
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
