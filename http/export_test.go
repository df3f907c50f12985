package http

// RouteRoles returns every pattern the server registered with the roles
// that may call it (nil for a public route).
func (s *Server) RouteRoles() map[string][]string { return s.routeRoles }
