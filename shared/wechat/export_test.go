package wechat

// ParseFast exposes the scanner alone, so that tests can check that it is
// really taken for WeChat's usual bodies and that it agrees with encoding/xml.
var ParseFast = parseFast
