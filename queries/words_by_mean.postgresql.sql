SELECT activation_file.run_id AS run, activation_file.path AS path, activation_file.n_rows AS n_rows, run.corpus_id AS corpus_id 
FROM activation_file JOIN run ON run.id = activation_file.run_id JOIN layer ON layer.id = activation_file.layer_id 
WHERE run.model_id = %(model_id_1)s::INTEGER AND run.status = %(status_1)s::VARCHAR AND layer.site = %(site_1)s::VARCHAR AND layer.index = %(index_1)s::INTEGER ORDER BY activation_file.run_id DESC 
 LIMIT %(param_1)s::INTEGER
-- parameters: {'model_id_1': 3, 'status_1': 'done', 'site_1': 'mlp', 'index_1': 0, 'param_1': 1}
