package metrics

import (
	"net/http"
	"strings"
)

// UnmatchedRoute is the route label of a request that no route pattern
// matched (unknown paths, methods a path does not allow, requests answered
// before routing): one series however many paths clients send.
const UnmatchedRoute = "unmatched"

// OtherMethod is the method label of a request whose method is not a
// standard one: the method is the client's choice, the label set is not.
const OtherMethod = "OTHER"

// The method and status class labels are small fixed sets, indexed so that
// a request finds its series without hashing strings.
const (
	numMethods = 10 // the 9 standard methods and OtherMethod
	numClasses = 6  // 1xx..5xx and "other"
)

// RouteLabel is the route label of a ServeMux pattern: its path part
// ("GET /api/v1/courses" → "/api/v1/courses"), UnmatchedRoute for "".
func RouteLabel(pattern string) string {
	if pattern == "" {
		return UnmatchedRoute
	}
	if _, path, ok := cutMethod(pattern); ok {
		return path
	}
	return pattern
}

// cutMethod splits a ServeMux pattern "[METHOD ][HOST]/[PATH]" into its
// method and the rest; ok is false for a pattern without a method.
func cutMethod(pattern string) (method, rest string, ok bool) {
	method, rest, ok = strings.Cut(pattern, " ")
	return method, strings.TrimLeft(rest, " \t"), ok
}

// Method is the method label: the standard methods as they are, anything
// else OtherMethod.
func Method(m string) string { return methodName(methodIndex(m)) }

func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodDelete:
		return 5
	case http.MethodOptions:
		return 6
	case http.MethodConnect:
		return 7
	case http.MethodTrace:
		return 8
	}
	return 9
}

func methodName(i int) string {
	switch i {
	case 0:
		return http.MethodGet
	case 1:
		return http.MethodHead
	case 2:
		return http.MethodPost
	case 3:
		return http.MethodPut
	case 4:
		return http.MethodPatch
	case 5:
		return http.MethodDelete
	case 6:
		return http.MethodOptions
	case 7:
		return http.MethodConnect
	case 8:
		return http.MethodTrace
	}
	return OtherMethod
}

// StatusClass is the status class label ("2xx" for 200..299); a code
// outside 100..599 is "other".
func StatusClass(code int) string { return className(classIndex(code)) }

func classIndex(code int) int {
	if code < 100 || code > 599 {
		return 5
	}
	return code/100 - 1
}

func className(i int) string {
	switch i {
	case 0:
		return "1xx"
	case 1:
		return "2xx"
	case 2:
		return "3xx"
	case 3:
		return "4xx"
	case 4:
		return "5xx"
	}
	return "other"
}
