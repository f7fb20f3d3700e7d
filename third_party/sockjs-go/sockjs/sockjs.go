package sockjs
